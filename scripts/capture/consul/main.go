// Makes the real hashicorp/consul/api lock recipes hold locks in a Consul agent, so LockDeck
// can dump their exact KV entries (capture) and tests can see live holders (hold mode).
//
//	consul-capture lock      [flags] <http-addr> <key>            api.Lock on <key>
//	consul-capture pair      [flags] <http-addr> <key1> <key2>    one session, two api.Locks
//	consul-capture semaphore [flags] <http-addr> <prefix> <limit> api.Semaphore
//	consul-capture semwaits [flags] <http-addr> <prefix>[,<prefix>...][><prefix>]...  (semwaits.go)
//	consul-capture churn     [flags] <http-addr> <key> <contenders> N api.Locks in a loop (churn.go)
//
// Flags: -ttl 15s (session TTL), -lock-delay 0 (session lock-delay; 0 = Consul's default
// 15s, because api.Lock does not send a zero), -value s, -name s (session name), -token s.
//
// Protocol (scripts/capture/README.md): prints WAITING before it asks for the lock, READY
// once held, then waits for a line on stdin or stdin closing, releases, prints RELEASED and
// exits 0. If the lock is taken away first (force-release, session destroyed) it prints
// LOST, still waits for stdin, and exits 0 after RELEASED. Diagnostics go to stderr as
// key=value lines (session=…, key=…, lockIndex=…, acquiredAtMs=…).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"
)

type opts struct {
	ttl       string
	lockDelay time.Duration
	value     string
	name      string
	token     string
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: lock|pair|semaphore [-ttl 15s] [-lock-delay 5s] [-value v] [-name n] [-token t] <http-addr> <args…>")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	var o opts
	fs.StringVar(&o.ttl, "ttl", "15s", "session TTL")
	fs.DurationVar(&o.lockDelay, "lock-delay", 0, "session lock-delay (0 = Consul default)")
	fs.StringVar(&o.value, "value", "", "value stored with the lock")
	fs.StringVar(&o.name, "name", "", "session name (default: the library's)")
	fs.StringVar(&o.token, "token", "", "ACL token")
	register := fs.String("register", "", "churn: URL of the fenced register")
	_ = fs.Parse(os.Args[2:])
	args := fs.Args()
	if len(args) < 2 {
		usage()
	}
	cfg := api.DefaultConfig()
	cfg.Address = args[0]
	cfg.Token = o.token
	client, err := api.NewClient(cfg)
	if err != nil {
		fail("client: %v", err)
	}
	switch mode {
	case "lock":
		holdLocks(client, o, "", args[1])
	case "pair":
		if len(args) < 3 {
			usage()
		}
		holdLocks(client, o, createSession(client, o), args[1], args[2])
	case "churn":
		if len(args) < 3 {
			usage()
		}
		n, err := strconv.Atoi(args[2])
		if err != nil || n < 1 {
			usage()
		}
		churn(client, args[1], n, *register)
	case "semwaits":
		semWaits(client, o, args[1:])
	case "semaphore":
		if len(args) < 3 {
			usage()
		}
		limit, err := strconv.Atoi(args[2])
		if err != nil || limit < 1 {
			usage()
		}
		holdSemaphore(client, o, args[1], limit)
	default:
		usage()
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

// createSession makes the one session a pair of api.Locks share (api.Lock would make one each).
func createSession(client *api.Client, o opts) string {
	name := o.name
	if name == "" {
		name = "Consul API Lock"
	}
	id, _, err := client.Session().Create(&api.SessionEntry{Name: name, TTL: o.ttl, LockDelay: o.lockDelay}, nil)
	if err != nil {
		fail("session create: %v", err)
	}
	go client.Session().RenewPeriodic(o.ttl, id, nil, make(chan struct{}))
	return id
}

func holdLocks(client *api.Client, o opts, session string, keys ...string) {
	locks := make([]*api.Lock, 0, len(keys))
	lostChs := make([]<-chan struct{}, 0, len(keys))
	fmt.Println("WAITING")
	for _, key := range keys {
		lo := &api.LockOptions{Key: key, Value: []byte(o.value), Session: session, SessionName: o.name, SessionTTL: o.ttl, LockDelay: o.lockDelay}
		l, err := client.LockOpts(lo)
		if err != nil {
			fail("lock opts %s: %v", key, err)
		}
		lost, err := l.Lock(nil)
		if err != nil || lost == nil {
			fail("lock %s: %v", key, err)
		}
		pair, _, err := client.KV().Get(key, &api.QueryOptions{RequireConsistent: true})
		if err != nil || pair == nil {
			fail("read %s after lock: %v", key, err)
		}
		fmt.Fprintf(os.Stderr, "key=%s session=%s lockIndex=%d modifyIndex=%d acquiredAtMs=%d\n", key, pair.Session, pair.LockIndex, pair.ModifyIndex, time.Now().UnixMilli())
		locks = append(locks, l)
		lostChs = append(lostChs, lost)
	}
	fmt.Println("READY")
	watchLost(lostChs)
	waitStdin()
	for i, l := range locks {
		if err := l.Unlock(); err != nil && err != api.ErrLockNotHeld {
			fmt.Fprintf(os.Stderr, "unlock %s: %v\n", keys[i], err)
		}
	}
	fmt.Println("RELEASED")
}

func holdSemaphore(client *api.Client, o opts, prefix string, limit int) {
	so := &api.SemaphoreOptions{Prefix: prefix, Limit: limit, Value: []byte(o.value), SessionName: o.name, SessionTTL: o.ttl}
	s, err := client.SemaphoreOpts(so)
	if err != nil {
		fail("semaphore opts: %v", err)
	}
	fmt.Println("WAITING")
	lost, err := s.Acquire(nil)
	if err != nil || lost == nil {
		fail("acquire %s: %v", prefix, err)
	}
	fmt.Fprintf(os.Stderr, "prefix=%s acquiredAtMs=%d\n", prefix, time.Now().UnixMilli())
	fmt.Println("READY")
	watchLost([]<-chan struct{}{lost})
	waitStdin()
	if err := s.Release(); err != nil && err != api.ErrSemaphoreNotHeld {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
	}
	fmt.Println("RELEASED")
}

var stdout sync.Mutex

// watchLost prints LOST (once) when any held lock is taken away.
func watchLost(chs []<-chan struct{}) {
	var once sync.Once
	for _, ch := range chs {
		go func(ch <-chan struct{}) {
			<-ch
			once.Do(func() {
				stdout.Lock()
				defer stdout.Unlock()
				fmt.Fprintf(os.Stderr, "lostAtMs=%d\n", time.Now().UnixMilli())
				fmt.Println("LOST")
			})
		}(ch)
	}
}

// waitStdin returns on a line or EOF: both mean "let go".
func waitStdin() {
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}
