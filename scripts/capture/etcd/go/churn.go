// churn mode: N contenders, each with its own session (lease), take and release one
// concurrency.Mutex in a loop until told to stop, and print every holding they had:
//
//	etcd-capture churn <endpoints> <prefix> <contenders> [--register <url>]
//
// A contender that got the lock reads its key's create_revision (the fencing token), writes
// it to the fenced register (if given), holds 20–100 ms, writes again (the "late" write a
// paused holder would make), then releases with a txn guarded on that create_revision: the
// txn fails only if someone else deleted its key meanwhile, i.e. it lost the lock without
// letting go. One JSON line per holding on stdout:
//
//	{"who":"c3","id":"<create_revision>","from":<ms>,"to":<ms>,"end":"released"|"lost","late":"accepted"|"refused"|""}
//
// "READY" once every contender has its session; a line on stdin (or EOF) means stop: each
// contender finishes the holding it has, then "DONE" and exit 0.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

type holding struct {
	Who  string `json:"who"`
	ID   string `json:"id"`
	From int64  `json:"from"`
	To   int64  `json:"to"`
	End  string `json:"end"`
	Late string `json:"late"`
}

var outMu sync.Mutex

func emit(v any) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Println(string(b))
}

// registerWrite sends one fenced write; "" when there is no register.
func registerWrite(url, who string, token int64, phase string) string {
	if url == "" {
		return ""
	}
	body, _ := json.Marshal(map[string]any{"who": who, "token": token, "phase": phase})
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return "error"
	}
	res.Body.Close()
	if res.StatusCode == 200 {
		return "accepted"
	}
	return "refused"
}

func churn(args []string) {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: etcd-capture churn <endpoints> <prefix> <contenders> [--register url]")
		os.Exit(2)
	}
	endpoints := strings.Split(args[0], ",")
	prefix := args[1]
	n, err := strconv.Atoi(args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "contenders must be a positive number")
		os.Exit(2)
	}
	register := ""
	if len(args) >= 5 && args[3] == "--register" {
		register = args[4]
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer cli.Close()

	ctx, stop := context.WithCancel(context.Background())
	sessions := make([]*concurrency.Session, n)
	for i := range sessions {
		if sessions[i], err = concurrency.NewSession(cli, concurrency.WithTTL(60)); err != nil {
			fmt.Fprintln(os.Stderr, "session:", err)
			os.Exit(1)
		}
	}
	fmt.Println("READY")
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		stop()
	}()

	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func(who string, s *concurrency.Session) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			for ctx.Err() == nil {
				m := concurrency.NewMutex(s, prefix)
				if err := m.Lock(ctx); err != nil {
					if ctx.Err() == nil {
						fmt.Fprintf(os.Stderr, "%s lock: %v\n", who, err)
						time.Sleep(50 * time.Millisecond)
					}
					continue
				}
				from := time.Now().UnixMilli()
				// The holding's own timeouts: a stop must not cut a holding short.
				op, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				got, err := cli.Get(op, m.Key())
				if err != nil || len(got.Kvs) == 0 {
					cancel()
					emit(holding{Who: who, From: from, To: time.Now().UnixMilli(), End: "lost"})
					continue
				}
				rev := got.Kvs[0].CreateRevision
				registerWrite(register, who, rev, "start")
				time.Sleep(time.Duration(20+rng.Intn(80)) * time.Millisecond)
				late := registerWrite(register, who, rev, "late")
				res, err := cli.Txn(op).If(clientv3.Compare(clientv3.CreateRevision(m.Key()), "=", rev)).Then(clientv3.OpDelete(m.Key())).Commit()
				cancel()
				end := "released"
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s release: %v\n", who, err)
					end = "unknown"
				} else if !res.Succeeded {
					end = "lost"
				}
				emit(holding{Who: who, ID: strconv.FormatInt(rev, 10), From: from, To: time.Now().UnixMilli(), End: end, Late: late})
			}
		}(fmt.Sprintf("c%d", i), s)
	}
	wg.Wait()
	for _, s := range sessions {
		_ = s.Close()
	}
	fmt.Println("DONE")
}
