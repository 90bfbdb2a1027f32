// Makes the real go-redsync (v4, go-redis v9 pool) hold mutexes in a Redis server, so
// LockDeck can dump its exact keys (capture) or tests can see a live holder (hold).
//
//	go run . capture <redis-url>
//	go run . hold <redis-url> <name> [ttlMs]
//
// capture: "capture:redsync-default" with redsync's default expiry (8 s), and
// "capture:redsync-long" with a 10 minute expiry.
// hold: one mutex on <name> for ttlMs (default 10 minutes). No Extend() calls, so the
// key's PTTL is exactly what was asked; past it the lock simply expires.
//
// Protocol: prints READY on stdout once held, waits for a line or for stdin to close,
// unlocks, prints RELEASED and exits 0. Diagnostics go to stderr.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	goredislib "github.com/redis/go-redis/v9"
)

const longTTL = 10 * time.Minute

func usage() {
	fmt.Fprintln(os.Stderr, "usage: capture <redis-url> | hold <redis-url> <name> [ttlMs]")
	os.Exit(2)
}

func main() {
	args := os.Args[1:]
	if len(args) < 2 || (args[0] != "capture" && args[0] != "hold") || (args[0] == "hold" && len(args) < 3) {
		usage()
	}
	opts, err := goredislib.ParseURL(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	client := goredislib.NewClient(opts)
	defer client.Close()
	rs := redsync.New(goredis.NewPool(client))

	var mutexes []*redsync.Mutex
	if args[0] == "capture" {
		mutexes = append(mutexes,
			rs.NewMutex("capture:redsync-default"),
			rs.NewMutex("capture:redsync-long", redsync.WithExpiry(longTTL)))
	} else {
		ttl := longTTL
		if len(args) > 3 {
			ms, err := strconv.Atoi(args[3])
			if err != nil || ms <= 0 {
				usage()
			}
			ttl = time.Duration(ms) * time.Millisecond
		}
		mutexes = append(mutexes, rs.NewMutex(args[2], redsync.WithExpiry(ttl)))
	}

	for _, m := range mutexes {
		if err := m.Lock(); err != nil {
			fmt.Fprintf(os.Stderr, "lock %s: %v\n", m.Name(), err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "held %s value=%s\n", m.Name(), m.Value())
	}
	fmt.Println("READY")

	// A line or EOF both mean "let go".
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')

	status := 0
	for _, m := range mutexes {
		if _, err := m.Unlock(); err != nil {
			// An expired lock cannot be unlocked; it is gone either way.
			if errors.Is(err, redsync.ErrLockAlreadyExpired) {
				fmt.Fprintf(os.Stderr, "unlock %s: already expired\n", m.Name())
				continue
			}
			fmt.Fprintf(os.Stderr, "unlock %s: %v\n", m.Name(), err)
			status = 1
		}
	}
	fmt.Println("RELEASED")
	os.Exit(status)
}
