package main

// semwaits: several clients, each with its own session, that first hold some api.Semaphores
// (limit 1) and then, once every client holds its own, contend for one more — real wait-for
// chains and cycles on Consul, where only semaphores keep waiters (a>b and b>a is a deadlock).
//
//	consul-capture semwaits [-ttl 15s] <http-addr> <prefix>[,<prefix>...][><prefix>]...
//
// Protocol (stdout): "SESSION i <id>", "HOLDS i <prefix>", "WAITING i <prefix>", READY once every
// waiter's contender key exists, "ACQUIRED i <prefix>" when a waiter gets its permit (someone let
// go or was evicted). A line on stdin or stdin closing: waiters stop, holders release, the
// sessions are destroyed, RELEASED.

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

type semClient struct {
	session string
	holds   []*api.Semaphore
	waitFor string
	waiting *api.Semaphore
	got     bool
}

func semWaits(client *api.Client, o opts, specs []string) {
	say := func(format string, a ...any) {
		stdout.Lock()
		defer stdout.Unlock()
		fmt.Printf(format+"\n", a...)
	}
	if o.name == "" {
		o.name = "Consul API Semaphore"
	}
	sem := func(prefix, session string) *api.Semaphore {
		s, err := client.SemaphoreOpts(&api.SemaphoreOptions{Prefix: prefix, Limit: 1, Session: session, SemaphoreWaitTime: time.Second})
		if err != nil {
			fail("semaphore %s: %v", prefix, err)
		}
		return s
	}
	clients := make([]*semClient, len(specs))
	for i, spec := range specs {
		holdPart, waitFor, _ := strings.Cut(spec, ">")
		c := &semClient{session: createSession(client, o), waitFor: waitFor}
		clients[i] = c
		say("SESSION %d %s", i, c.session)
		for _, p := range strings.Split(holdPart, ",") {
			if p == "" {
				continue
			}
			s := sem(p, c.session)
			if lost, err := s.Acquire(nil); err != nil || lost == nil {
				fail("client %d acquire %s: %v", i, p, err)
			}
			c.holds = append(c.holds, s)
			say("HOLDS %d %s", i, p)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		if c.waitFor == "" {
			continue
		}
		c.waiting = sem(c.waitFor, c.session)
		wg.Add(1)
		go func(i int, c *semClient) {
			defer wg.Done()
			say("WAITING %d %s", i, c.waitFor)
			lost, err := c.waiting.Acquire(stop)
			if err != nil || lost == nil {
				return // stopped waiting
			}
			c.got = true
			say("ACQUIRED %d %s", i, c.waitFor)
		}(i, c)
	}
	// READY once every waiter's contender key is in Consul: Acquire writes it before it blocks.
	for i, c := range clients {
		if c.waitFor == "" {
			continue
		}
		key := strings.TrimSuffix(c.waitFor, "/") + "/" + c.session
		deadline := time.Now().Add(30 * time.Second)
		for {
			pair, _, err := client.KV().Get(key, nil)
			if err == nil && pair != nil {
				break
			}
			if time.Now().After(deadline) {
				fail("client %d: its contender key %s never appeared", i, key)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	say("READY")
	waitStdin()
	close(stop)
	wg.Wait()
	for _, c := range clients {
		ss := c.holds
		if c.got {
			ss = append(ss, c.waiting)
		}
		for _, s := range ss {
			_ = s.Release()
		}
		_, _ = client.Session().Destroy(c.session, nil)
	}
	say("RELEASED")
}
