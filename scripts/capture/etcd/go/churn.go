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
//	{"who":"c3","id":"<create_revision>","from":<ms>,"to":<ms>,"end":"released"|"lost"|"waiter-removed"|"unknown","late":"accepted"|"refused"|""}
//
// A key can also be deleted before its contender saw that it holds the lock: after it became
// the oldest key (the lock is its owner's from then on, in etcd's eyes) but before Lock()
// returned (Lock says ErrSessionExpired) or before the contender read it back. That holding is
// printed too, "lost", with the create_revision the key had — or "waiter-removed" if, by the
// revision history, an older key still existed when it was deleted (it was only waiting, and
// nobody may delete a waiter's key).
//
// "READY" once every contender has its session; a line on stdin (or EOF) means stop: each
// contender finishes the attempt it is in (waiting, then holding), then "DONE" and exit 0.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
				// A revision before this attempt's key exists: its history starts after it.
				before, err := cli.Get(ctx, prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
				if err != nil {
					if ctx.Err() == nil {
						fmt.Fprintf(os.Stderr, "%s revision: %v\n", who, err)
						time.Sleep(50 * time.Millisecond)
					}
					continue
				}
				// A stop never interrupts a Lock in progress: interrupted, Lock deletes its own key,
				// and if the key had become the owner and an operator deleted it meanwhile, that
				// holding would end unreported. Waiters drain within a few holdings after a stop.
				lockCtx, lockCancel := context.WithTimeout(context.Background(), 30*time.Second)
				err = m.Lock(lockCtx)
				lockCancel()
				if err != nil {
					if errors.Is(err, concurrency.ErrSessionExpired) {
						emit(lostUnseen(cli, who, m.Key(), prefix+"/", before.Header.Revision))
						continue
					}
					// Lock gave up and deleted its key: whether it was the owner by then is unknown.
					fmt.Fprintf(os.Stderr, "%s lock: %v\n", who, err)
					emit(holding{Who: who, From: time.Now().UnixMilli(), To: time.Now().UnixMilli(), End: "unknown"})
					continue
				}
				from := time.Now().UnixMilli()
				// The holding's own timeouts: a stop must not cut a holding short.
				op, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				got, err := cli.Get(op, m.Key())
				if err != nil {
					cancel()
					fmt.Fprintf(os.Stderr, "%s read back: %v\n", who, err)
					emit(holding{Who: who, From: from, To: time.Now().UnixMilli(), End: "unknown"})
					continue
				}
				if len(got.Kvs) == 0 {
					cancel()
					emit(lostUnseen(cli, who, m.Key(), prefix+"/", before.Header.Revision))
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

// lostUnseen tells how a contender's key that was deleted before it saw itself holding ended,
// from etcd's revision history after `after` (the key is created and deleted there): its
// create_revision, and whether it was the oldest key under the prefix just before the delete
// ("lost": it held the lock) or an older key still existed ("waiter-removed").
func lostUnseen(cli *clientv3.Client, who, key, pfx string, after int64) holding {
	at := time.Now().UnixMilli()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var created, deleted int64
	wch := cli.Watch(ctx, key, clientv3.WithRev(after+1))
	for deleted == 0 {
		wr, ok := <-wch
		if !ok || wr.Err() != nil {
			fmt.Fprintf(os.Stderr, "%s history of %s: %v\n", who, key, wr.Err())
			return holding{Who: who, From: at, To: at, End: "unknown"}
		}
		for _, ev := range wr.Events {
			if ev.Type == clientv3.EventTypePut && created == 0 {
				created = ev.Kv.CreateRevision
			} else if ev.Type == clientv3.EventTypeDelete && created != 0 {
				deleted = ev.Kv.ModRevision
				break
			}
		}
	}
	first, err := cli.Get(ctx, pfx, append(clientv3.WithFirstCreate(), clientv3.WithRev(deleted-1))...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s owner at revision %d: %v\n", who, deleted-1, err)
		return holding{Who: who, ID: strconv.FormatInt(created, 10), From: at, To: at, End: "unknown"}
	}
	end := "lost"
	if len(first.Kvs) == 0 || first.Kvs[0].CreateRevision != created {
		end = "waiter-removed"
	}
	return holding{Who: who, ID: strconv.FormatInt(created, 10), From: at, To: at, End: end}
}
