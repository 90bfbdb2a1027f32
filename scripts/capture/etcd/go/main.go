// Makes the real etcd Go client (go.etcd.io/etcd/client/v3/concurrency) hold mutexes and
// run for election in an etcd server, so LockDeck can dump its exact keys (capture) or
// tests can see a live holder, waiter or candidate (hold).
//
//	etcd-capture hold <endpoints> [--ttl seconds] <what>...
//	etcd-capture churn <endpoints> <prefix> <contenders> [--register url]   (churn.go)
//	etcd-capture waits <endpoints> [--ttl seconds] <hold>[,<hold>...][><waitFor>]...   (waits.go)
//
// <endpoints> is a comma list (http://127.0.0.1:PORT,...). Every <what> shares ONE session
// (one lease), so a test can put several locks and an election key on the same lease:
//
//	mutex:<prefix>           concurrency.NewMutex(session, prefix).Lock() (blocks while held by another)
//	elect:<prefix>=<value>   concurrency.NewElection(session, prefix).Campaign(value) (blocks until leader)
//
// --ttl is the session TTL in seconds (concurrency's default is 60).
//
// Protocol (scripts/capture/README.md): on stdout, once the lease is granted,
// "LEASE <hex>"; once each <what> is held, "HELD <key> <create_revision>"; when all are held,
// "READY". Then it waits for a line on stdin or stdin closing, unlocks/resigns everything,
// prints "RELEASED" and exits 0. If the session's lease is lost meanwhile (revoked,
// expired), it prints "SESSION-LOST" and exits 3: that is how a holder learns of a revoke.
// Diagnostics go to stderr.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: etcd-capture hold <endpoints> [--ttl seconds] mutex:<prefix>|elect:<prefix>=<value> ...")
	os.Exit(2)
}

type held struct {
	unlock func(context.Context) error
	what   string
}

// connect parses "<endpoints> [--ttl seconds] <item>..." (exits with the usage on bad input),
// connects, and returns the client, the session options and the items.
func connect(args []string) (*clientv3.Client, []concurrency.SessionOption, []string) {
	endpoints := strings.Split(args[0], ",")
	opts := []concurrency.SessionOption{}
	items := []string{}
	for i := 1; i < len(args); i++ {
		if args[i] == "--ttl" && i+1 < len(args) {
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n <= 0 {
				usage()
			}
			opts = append(opts, concurrency.WithTTL(n))
			i++
			continue
		}
		items = append(items, args[i])
	}
	if len(items) == 0 {
		usage()
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	return cli, opts, items
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "churn" {
		churn(args[1:])
		return
	}
	if len(args) > 0 && args[0] == "waits" {
		waits(args[1:])
		return
	}
	if len(args) < 3 || args[0] != "hold" {
		usage()
	}
	cli, opts, whats := connect(args[1:])
	defer cli.Close()
	session, err := concurrency.NewSession(cli, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "session:", err)
		os.Exit(1)
	}
	fmt.Printf("LEASE %x\n", int64(session.Lease()))

	ctx := context.Background()
	var holds []held
	for _, w := range whats {
		switch {
		case strings.HasPrefix(w, "mutex:"):
			m := concurrency.NewMutex(session, strings.TrimPrefix(w, "mutex:"))
			if err := m.Lock(ctx); err != nil {
				fmt.Fprintf(os.Stderr, "lock %s: %v\n", w, err)
				os.Exit(1)
			}
			fmt.Printf("HELD %s %d\n", m.Key(), m.Header().Revision)
			holds = append(holds, held{unlock: m.Unlock, what: w})
		case strings.HasPrefix(w, "elect:"):
			spec := strings.TrimPrefix(w, "elect:")
			eq := strings.Index(spec, "=")
			if eq < 0 {
				usage()
			}
			e := concurrency.NewElection(session, spec[:eq])
			if err := e.Campaign(ctx, spec[eq+1:]); err != nil {
				fmt.Fprintf(os.Stderr, "campaign %s: %v\n", w, err)
				os.Exit(1)
			}
			fmt.Printf("HELD %s %d\n", e.Key(), e.Rev())
			holds = append(holds, held{unlock: e.Resign, what: w})
		default:
			usage()
		}
	}
	fmt.Println("READY")

	// A line or EOF both mean "let go"; a lost session means someone ended our lease.
	line := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(line)
	}()
	select {
	case <-line:
	case <-session.Done():
		fmt.Println("SESSION-LOST")
		os.Exit(3)
	}

	status := 0
	for _, h := range holds {
		if err := h.unlock(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "release %s: %v\n", h.what, err)
			status = 1
		}
	}
	_ = session.Close()
	fmt.Println("RELEASED")
	os.Exit(status)
}
