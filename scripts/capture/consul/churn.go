// churn mode: N contenders take and release one api.Lock in a loop until told to stop, and
// print every holding they had (the same lines as scripts/capture/etcd/go/churn.go):
//
//	consul-capture churn <http-addr> <key> <contenders> [-register url]
//
// A contender that got the lock (api.Lock makes it a fresh session each time) reads the key
// consistently for its LockIndex (the fencing token), writes it to the fenced register (if
// given), holds 20–100 ms, writes again (the "late" write), then releases with a /v1/txn
// check-session + unlock: rolled back only if its session no longer holds the key, i.e. it
// lost the lock without letting go. Then api.Lock's Unlock tidies the session away.
//
//	{"who":"c3","id":"<LockIndex>","from":<ms>,"to":<ms>,"end":"released"|"lost","late":"accepted"|"refused"|""}
//
// "READY" once started; a line on stdin (or EOF) means stop; "DONE" at exit.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

type holding struct {
	Who  string `json:"who"`
	ID   string `json:"id"`
	From int64  `json:"from"`
	To   int64  `json:"to"`
	End  string `json:"end"`
	Late string `json:"late"`
}

func emit(v any) {
	b, _ := json.Marshal(v)
	stdout.Lock()
	defer stdout.Unlock()
	fmt.Println(string(b))
}

func registerWrite(url, who string, token uint64, phase string) string {
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

func churn(client *api.Client, key string, n int, register string) {
	stop := make(chan struct{})
	fmt.Println("READY")
	go func() {
		waitStdin()
		close(stop)
	}()
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(who string) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			for !stopped() {
				l, err := client.LockOpts(&api.LockOptions{Key: key, SessionName: who, SessionTTL: "30s", LockWaitTime: time.Second})
				if err != nil {
					fail("lock opts: %v", err)
				}
				lost, err := l.Lock(stop)
				if err != nil || lost == nil {
					if err != nil && !stopped() {
						fmt.Fprintf(os.Stderr, "%s lock: %v\n", who, err)
					}
					continue
				}
				from := time.Now().UnixMilli()
				pair, _, err := client.KV().Get(key, &api.QueryOptions{RequireConsistent: true})
				if err != nil || pair == nil || pair.Session == "" {
					_ = l.Unlock()
					emit(holding{Who: who, From: from, To: time.Now().UnixMilli(), End: "lost"})
					continue
				}
				registerWrite(register, who, pair.LockIndex, "start")
				time.Sleep(time.Duration(20+rng.Intn(80)) * time.Millisecond)
				late := registerWrite(register, who, pair.LockIndex, "late")
				ok, _, _, err := client.Txn().Txn(api.TxnOps{
					{KV: &api.KVTxnOp{Verb: api.KVCheckSession, Key: key, Session: pair.Session}},
					{KV: &api.KVTxnOp{Verb: api.KVUnlock, Key: key, Session: pair.Session, Value: pair.Value, Flags: pair.Flags}},
				}, nil)
				end := "released"
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s release: %v\n", who, err)
					end = "unknown"
				} else if !ok {
					end = "lost"
				}
				_ = l.Unlock()
				emit(holding{Who: who, ID: strconv.FormatUint(pair.LockIndex, 10), From: from, To: time.Now().UnixMilli(), End: end, Late: late})
			}
		}(fmt.Sprintf("c%d", i))
	}
	wg.Wait()
	fmt.Println("DONE")
}
