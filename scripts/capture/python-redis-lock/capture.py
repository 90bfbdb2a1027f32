#!/usr/bin/env python3
"""Makes the real python-redis-lock hold locks in a Redis server, so LockDeck can dump its
exact keys (capture) or tests can see a live holder (hold).

    python capture.py capture <redis-url>
    python capture.py hold <redis-url> <name> [expireSeconds|none]

capture: "capture:prl-expire60" held with expire=60 (no auto-renewal, so the TTL counts
down from 60 s) and "capture:prl-noexpire" held with expire=None (the key has no TTL).
hold: one lock on <name>; expire defaults to 60 s with auto_renewal (so it stays held as
long as this process lives); "none" holds with no TTL at all.

Protocol: prints READY on stdout once held, waits for a line or for stdin to close,
releases, prints RELEASED and exits 0. Release pushes to lock-signal:<name> (a LIST with
a 1000 ms expiry), so a dump taken right after RELEASED still sees it. Diagnostics go to
stderr.
"""
import sys

import redis
import redis_lock


def usage():
    print("usage: capture.py capture <redis-url> | hold <redis-url> <name> [expireSeconds|none]", file=sys.stderr)
    sys.exit(2)


def main(argv):
    if len(argv) < 2 or argv[0] not in ("capture", "hold") or (argv[0] == "hold" and len(argv) < 3):
        usage()
    client = redis.Redis.from_url(argv[1])
    if argv[0] == "capture":
        locks = [
            redis_lock.Lock(client, "capture:prl-expire60", expire=60),
            redis_lock.Lock(client, "capture:prl-noexpire", expire=None),
        ]
    else:
        arg = argv[3] if len(argv) > 3 else "60"
        if arg == "none":
            locks = [redis_lock.Lock(client, argv[2], expire=None)]
        else:
            locks = [redis_lock.Lock(client, argv[2], expire=int(arg), auto_renewal=True)]

    for lock in locks:
        # Non-blocking: a lock already held by someone else is an error here, not a wait.
        if not lock.acquire(blocking=False):
            print(f"lock {lock._name}: already held", file=sys.stderr)
            sys.exit(1)
        print(f"held {lock._name} id={lock.id}", file=sys.stderr)
    print("READY", flush=True)

    sys.stdin.readline()  # a line or EOF both mean "let go"

    for lock in locks:
        try:
            lock.release()
        except redis_lock.NotAcquired as e:
            # An expired lock cannot be released; it is gone either way.
            print(f"release {lock._name}: {e!r} (expired?)", file=sys.stderr)
    print("RELEASED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
