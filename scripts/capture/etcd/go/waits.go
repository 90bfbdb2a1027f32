// waits: several clients, each its own concurrency.Session (its own lease), that first take
// some mutexes and then, once every client holds its own, ask for one more — so tests and
// captures get real wait-for chains and cycles (a>b, b>a is a deadlock).
//
//	etcd-capture waits <endpoints> [--ttl seconds] <spec>...
//	spec = <prefix>[,<prefix>...][><prefix>]      e.g. /locks/a>/locks/b
//
// Client i holds the prefixes before ">" and then waits for the one after it (if any).
// Protocol (stdout): "LEASE i <hex>" per session, "HOLDS i <key>" per mutex held,
// "WAITING i <prefix>" when client i starts to wait, "READY" once every waiter's key is in
// etcd (the waits are visible), "ACQUIRED i <key>" when a waiter gets its mutex (someone let
// go or force-released). A line on stdin or stdin closing: every waiter stops waiting, every
// mutex is unlocked, the sessions close, "RELEASED", exit 0. "SESSION-LOST i" (exit 3) when a
// session's lease ends under it.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"
)

type waitClient struct {
	session *concurrency.Session
	holds   []*concurrency.Mutex
	waitFor string
	waiting *concurrency.Mutex
	got     bool
}

func waits(args []string) {
	if len(args) < 2 {
		usage()
	}
	cli, opts, specs := connect(args)
	defer cli.Close()
	ctx := context.Background()
	var out sync.Mutex
	say := func(format string, a ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf(format+"\n", a...)
	}

	clients := make([]*waitClient, len(specs))
	for i, spec := range specs {
		holdPart, waitFor, _ := strings.Cut(spec, ">")
		s, err := concurrency.NewSession(cli, opts...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "session:", err)
			os.Exit(1)
		}
		c := &waitClient{session: s, waitFor: waitFor}
		clients[i] = c
		say("LEASE %d %x", i, int64(s.Lease()))
		for _, p := range strings.Split(holdPart, ",") {
			if p == "" {
				continue
			}
			m := concurrency.NewMutex(s, p)
			if err := m.Lock(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "client %d lock %s: %v\n", i, p, err)
				os.Exit(1)
			}
			c.holds = append(c.holds, m)
			say("HOLDS %d %s", i, m.Key())
		}
	}

	// Every client holds its own: now the waits start, each in its own goroutine.
	waitCtx, stopWaiting := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, c := range clients {
		if c.waitFor == "" {
			continue
		}
		c.waiting = concurrency.NewMutex(c.session, c.waitFor)
		wg.Add(1)
		go func(i int, c *waitClient) {
			defer wg.Done()
			say("WAITING %d %s", i, c.waitFor)
			if err := c.waiting.Lock(waitCtx); err != nil {
				return // stopped waiting (released) or the session ended
			}
			c.got = true
			say("ACQUIRED %d %s", i, c.waiting.Key())
		}(i, c)
	}
	// READY once every waiter's own key exists: Lock() puts it there before it blocks.
	for i, c := range clients {
		if c.waitFor == "" {
			continue
		}
		key := fmt.Sprintf("%s/%x", strings.TrimSuffix(c.waitFor, "/"), int64(c.session.Lease()))
		deadline := time.Now().Add(30 * time.Second)
		for {
			r, err := cli.Get(ctx, key)
			if err == nil && len(r.Kvs) > 0 {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "client %d: its waiter key %s never appeared\n", i, key)
				os.Exit(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	say("READY")

	line := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(line)
	}()
	lost := make(chan int, len(clients))
	for i, c := range clients {
		go func(i int, c *waitClient) {
			<-c.session.Done()
			lost <- i
		}(i, c)
	}
	select {
	case <-line:
	case i := <-lost:
		say("SESSION-LOST %d", i)
		os.Exit(3)
	}

	stopWaiting()
	wg.Wait()
	status := 0
	for i, c := range clients {
		ms := c.holds
		if c.got {
			ms = append(ms, c.waiting)
		}
		for _, m := range ms {
			if err := m.Unlock(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "client %d unlock %s: %v\n", i, m.Key(), err)
				status = 1
			}
		}
		_ = c.session.Close()
	}
	say("RELEASED")
	os.Exit(status)
}
