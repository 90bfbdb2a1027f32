#!/usr/bin/env python3
"""Makes real kazoo lock recipes hold locks in a ZooKeeper server, so LockDeck can dump the exact
znodes kazoo writes (capture) or tests can watch live kazoo holders and waiters (hold).

    python capture.py capture <hosts> <root>
    python capture.py hold <hosts> <scenario> <path> [contenders]

Scenarios: lock (Lock), rwlock-read (ReadLock, ReadLock, WriteLock), rwlock-write (WriteLock,
ReadLock, WriteLock), semaphore (Semaphore, max_leases=2), lock-persistent (Lock acquired with
ephemeral=False: the node outlives the session). Contender i is its own KazooClient (its own
session) with identifier "kazoo-<i>", and starts only once contender i-1's node exists, so the
queue order is the contender order. Contenders that get the lock keep it until told to let go.

Protocol (stdout; diagnostics go to stderr), the same as scripts/capture/curator:
    SESSION i 0x<session id> · HOLDS i · LET_GO i · READY · RELEASED
A line on stdin (or stdin closing) means "let go"; then RELEASED and exit 0.
"""
import sys
import threading
import time

from kazoo.client import KazooClient

SCENARIOS = ["lock", "rwlock-read", "rwlock-write", "semaphore", "lock-persistent"]
_say_lock = threading.Lock()


def say(line):
    with _say_lock:
        print(line, flush=True)


def recipe(client, scenario, path, i):
    ident = "kazoo-%d" % i
    if scenario == "lock":
        return client.Lock(path, ident), {}
    if scenario == "lock-persistent":
        return client.Lock(path, ident), {"ephemeral": False}
    if scenario in ("rwlock-read", "rwlock-write"):
        write = i >= 2 if scenario == "rwlock-read" else i != 1
        return (client.WriteLock(path, ident) if write else client.ReadLock(path, ident)), {}
    if scenario == "semaphore":
        return client.Semaphore(path, ident, max_leases=2), {}
    raise ValueError("unknown scenario %s; one of %s" % (scenario, ", ".join(SCENARIOS)))


class Contender:
    def __init__(self, hosts, scenario, path, i):
        self.i = i
        self.client = KazooClient(hosts=hosts)
        self.client.start(timeout=30)
        say("SESSION %d 0x%x" % (i, self.client.client_id[0]))
        self.lock, self.kwargs = recipe(self.client, scenario, path, i)
        self.done = threading.Event()
        self.holds = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self.run, name="%s-%d" % (scenario, i), daemon=True)

    def run(self):
        try:
            self.lock.acquire(**self.kwargs)
            say("HOLDS %d" % self.i)
            self.holds.set()
            self.done.wait()
            self.lock.release()
            say("LET_GO %d" % self.i)
        except Exception as e:  # noqa: BLE001 - reported, and the exit code says it failed
            self.error = e
            print("%s: %r" % (self.thread.name, e), file=sys.stderr)


def count_nodes(zk, path):
    """The contenders' nodes: children of path plus a semaphore's sibling lock path."""
    n = 0
    for p in (path, path + "-__lock__"):
        if zk.exists(p):
            n += len(zk.get_children(p))
    return n


def wait_until(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.02)


def initial_holders(scenario):
    return {0, 1} if scenario in ("rwlock-read", "semaphore") else {0}


def take(hosts, observer, contenders, scenario, path, n):
    started = []
    for i in range(n):
        c = Contender(hosts, scenario, path, i)
        contenders.append(c)
        started.append(c)
        c.thread.start()
        wait_until("%s contender %d in place" % (scenario, i), lambda k=i + 1: count_nodes(observer, path) >= k)
    for i in initial_holders(scenario):
        if i < n and not started[i].holds.wait(30):
            raise RuntimeError("%s contender %d does not hold" % (scenario, i))


def release_all(contenders):
    ok = True
    for c in contenders:
        c.done.set()
    for c in contenders:
        c.thread.join(30)
        if c.thread.is_alive() or c.error is not None:
            print("%s: release failed: %r" % (c.thread.name, c.error), file=sys.stderr)
            ok = False
    for c in contenders:
        c.client.stop()
        c.client.close()
    return ok


def main(argv):
    capture = len(argv) == 3 and argv[0] == "capture"
    hold = len(argv) in (4, 5) and argv[0] == "hold" and argv[2] in SCENARIOS
    if not capture and not hold:
        print("usage: capture.py capture <hosts> <root> | hold <hosts> <scenario> <path> [contenders]", file=sys.stderr)
        print("scenarios: " + ", ".join(SCENARIOS), file=sys.stderr)
        return 2
    hosts = argv[1]
    observer = KazooClient(hosts=hosts)
    observer.start(timeout=30)
    contenders = []
    status = 0
    try:
        if capture:
            for s in SCENARIOS:
                take(hosts, observer, contenders, s, argv[2] + "/" + s, 1 if s == "lock-persistent" else 3)
        else:
            take(hosts, observer, contenders, argv[2], argv[3], int(argv[4]) if len(argv) == 5 else 3)
        say("READY")
        sys.stdin.readline()  # a line or EOF both mean "let go"
        if not release_all(contenders):
            status = 1
        say("RELEASED")
    except Exception as e:  # noqa: BLE001
        print("capture failed: %r" % (e,), file=sys.stderr)
        release_all(contenders)
        status = 1
    finally:
        observer.stop()
        observer.close()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
