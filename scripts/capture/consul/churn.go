// churn mode: N contenders take and release one api.Lock in a loop until told to stop, and
// print every holding they had (the same lines as scripts/capture/etcd/go/churn.go):
//
//	consul-capture churn <http-addr> <key> <contenders> [-register url]
//
// A contender that got the lock (a fresh session each time) reads the key
// consistently for its LockIndex (the fencing token), writes it to the fenced register (if
// given), holds 20–100 ms, writes again (the "late" write), then releases with a /v1/txn
// check-session + unlock: rolled back only if its session no longer holds the key, i.e. it
// lost the lock without letting go. Then api.Lock's Unlock, and the session is destroyed.
//
//	{"who":"c3","id":"<LockIndex>","holder":"<session>","from":<ms>,"to":<ms>,"end":"released"|"lost","late":"accepted"|"refused"|""}
//
// Each holding has its own session, made here and handed to api.Lock (as api.Lock would make
// one): the key can be taken away after Consul gave it to the session but before the contender
// read it back, and then the session is what names that holding (Consul keeps no history to
// tell its LockIndex): "id" is "" and "end" "lost". A read that shows another session's pair
// is such a loss too, never a holding of this contender's.
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
	Who    string `json:"who"`
	ID     string `json:"id"`
	Holder string `json:"holder"`
	From   int64  `json:"from"`
	To     int64  `json:"to"`
	End    string `json:"end"`
	Late   string `json:"late"`
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
				session, _, err := client.Session().Create(&api.SessionEntry{Name: who, TTL: "30s"}, nil)
				if err != nil {
					if !stopped() {
						fmt.Fprintf(os.Stderr, "%s session: %v\n", who, err)
						time.Sleep(50 * time.Millisecond)
					}
					continue
				}
				done := func() { _, _ = client.Session().Destroy(session, nil) }
				l, err := client.LockOpts(&api.LockOptions{Key: key, Session: session, SessionName: who, SessionTTL: "30s", LockWaitTime: time.Second})
				if err != nil {
					fail("lock opts: %v", err)
				}
				lost, err := l.Lock(stop)
				if err != nil || lost == nil {
					if err != nil && !stopped() {
						fmt.Fprintf(os.Stderr, "%s lock: %v\n", who, err)
					}
					done()
					continue
				}
				from := time.Now().UnixMilli()
				pair, _, err := client.KV().Get(key, &api.QueryOptions{RequireConsistent: true})
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s read back: %v\n", who, err)
					_ = l.Unlock()
					done()
					emit(holding{Who: who, Holder: session, From: from, To: time.Now().UnixMilli(), End: "unknown"})
					continue
				}
				if pair == nil || pair.Session != session {
					_ = l.Unlock()
					done()
					emit(holding{Who: who, Holder: session, From: from, To: time.Now().UnixMilli(), End: "lost"})
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
				done()
				emit(holding{Who: who, ID: strconv.FormatUint(pair.LockIndex, 10), Holder: session, From: from, To: time.Now().UnixMilli(), End: end, Late: late})
			}
		}(fmt.Sprintf("c%d", i))
	}
	wg.Wait()
	fmt.Println("DONE")
}
