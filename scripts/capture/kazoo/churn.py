#!/usr/bin/env python3
"""Churn: N kazoo contenders, each its own KazooClient (its own session), take and release one
kazoo Lock in a loop until told to stop, and print every holding they had (the same lines as
scripts/capture/etcd/go/churn.go):

    python churn.py <hosts> <path> <contenders> [register-url]

A contender that got the lock reads its node's czxid (the fencing token), writes it to the
fenced register (if given), holds 20-100 ms, writes again (the "late" write), then releases the
recipe's way -- delete its own node -- but looks at the answer kazoo's release() throws away:
NoNodeError means someone else deleted the node, i.e. it lost the lock without letting go.

    {"who":"c3","id":"<czxid>","from":<ms>,"to":<ms>,"end":"released"|"lost"|"waiter-removed","late":"accepted"|"refused"|""}

A node can also be deleted before its contender saw that it holds the lock: after it became the
lowest (the lock is its owner's from then on) but before kazoo looked again -- kazoo then quietly
makes a new node and keeps waiting -- or before the contender read it back. That holding is
printed too, "lost", with the czxid the node had (kept from its create); "waiter-removed" when a
lower node still exists, so it was only waiting (nobody may delete a waiter's node).

READY once every client is connected; a line on stdin (or EOF) means stop; DONE at exit.
"""
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request

from kazoo.client import KazooClient
from kazoo.exceptions import LockTimeout, NoNodeError
from kazoo.recipe.lock import Lock
from kazoo.retry import ForceRetryError

_out = threading.Lock()


def emit(obj):
    with _out:
        print(json.dumps(obj), flush=True)


def now_ms():
    return int(time.time() * 1000)


def register_write(url, who, token, phase):
    if not url:
        return ""
    req = urllib.request.Request(url, data=json.dumps({"who": who, "token": token, "phase": phase}).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return "accepted" if res.status == 200 else "refused"
    except urllib.error.HTTPError:
        return "refused"
    except OSError:
        return "error"


def remember_creates(client):
    """Wraps client.create so every node's czxid is known, even after someone deleted it."""
    created = {}
    create = client.create

    def create_and_remember(path, value=b"", acl=None, ephemeral=False, sequence=False, makepath=False, include_data=False):
        made, stat = create(path, value, acl=acl, ephemeral=ephemeral, sequence=sequence, makepath=makepath, include_data=True)
        created[made] = stat.czxid
        return (made, stat) if include_data else made

    client.create = create_and_remember
    return created


class WatchedLock(Lock):
    """kazoo's Lock, noting each of its nodes that vanished while it was acquiring (kazoo itself
    just makes a new one), and whether a lower node still existed then."""

    def __init__(self, *args):
        super().__init__(*args)
        self.vanished = []

    def _get_predecessor(self, node):
        try:
            return super()._get_predecessor(node)
        except ForceRetryError:
            seq = node[len(self.prefix):]
            lower = [c for c in self.client.get_children(self.path) if self._contenders_re.search(c) and c[-10:] < seq]
            self.vanished.append((node, bool(lower)))
            raise


def lost_unseen(who, czxid, waiting):
    at = now_ms()
    emit({"who": who, "id": str(czxid), "from": at, "to": at, "end": "waiter-removed" if waiting else "lost", "late": ""})


def contender(client, path, who, register, stop):
    rng = random.Random()
    created = remember_creates(client)
    while not stop.is_set():
        lock = WatchedLock(client, path, who)
        try:
            got = lock.acquire(timeout=1)
        except LockTimeout:
            got = False
        for node, waiting in lock.vanished:
            lost_unseen(who, created[path + "/" + node], waiting)
        if not got:
            continue
        start = now_ms()
        node = path + "/" + lock.node
        stat = client.exists(node)
        if stat is None:
            lock.release()
            lost_unseen(who, created[node], False)
            continue
        token = stat.czxid
        register_write(register, who, token, "start")
        time.sleep(rng.uniform(0.02, 0.1))
        late = register_write(register, who, token, "late")
        try:
            client.delete(node)
            end = "released"
        except NoNodeError:
            end = "lost"
        lock.release()
        emit({"who": who, "id": str(token), "from": start, "to": now_ms(), "end": end, "late": late})


def main():
    if len(sys.argv) < 4:
        print("usage: churn.py <hosts> <path> <contenders> [register-url]", file=sys.stderr)
        sys.exit(2)
    hosts, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    register = sys.argv[4] if len(sys.argv) > 4 else ""
    clients = []
    for _ in range(n):
        c = KazooClient(hosts=hosts, timeout=15)
        c.start(timeout=30)
        clients.append(c)
    clients[0].ensure_path(path)
    stop = threading.Event()
    threads = [threading.Thread(target=contender, args=(c, path, "c%d" % i, register, stop), daemon=True) for i, c in enumerate(clients)]
    print("READY", flush=True)
    for t in threads:
        t.start()
    sys.stdin.readline()
    stop.set()
    for t in threads:
        t.join()
    for c in clients:
        c.stop()
        c.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
