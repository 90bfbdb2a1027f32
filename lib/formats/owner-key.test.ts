// Owner identity (Holder.ownerKey / Waiter.ownerKey, lib/model.ts) over fixtures captured from
// the real libraries: the same client carries the same key wherever it holds or waits, across
// locks; layouts that record no client identity carry none.
//
// The *-waits-cycle fixtures are real deadlocks (scripts/capture/waits.ts): two clients, each
// holding one lock and queued on the other's.

import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { decodeRedis } from "./redis";
import { loadFixture as loadRedis } from "../../test/support/fixtures/redis";
import { decodeEtcd } from "./etcd";
import { loadEtcdFixture } from "../../test/support/fixtures/etcd";
import { decodeZooKeeper } from "./zookeeper";
import { loadFixture as loadZk } from "../../test/support/fixtures/zookeeper";
import { decodeConsul } from "./consul";
import { loadConsulFixture } from "../../test/support/fixtures/consul";
import { lockRecordFromView } from "../stores/memory/record";

function redis(name: string): LockRecord[] {
  const { fixture, entries } = loadRedis(name);
  return decodeRedis(entries, { connection: "r", consistency: "primary", now: fixture.now }).locks;
}
function etcd(name: string) {
  const { fixture, entries, leases } = loadEtcdFixture(name);
  return { fixture, locks: decodeEtcd(entries, leases, { connection: "e", consistency: "linearizable", now: fixture.now }).locks };
}
function zk(name: string): LockRecord[] {
  const { fixture, nodes } = loadZk(name);
  return decodeZooKeeper(nodes, { connection: "z", consistency: "sync", now: fixture.now, roots: [fixture.root] }).locks;
}
function consul(name: string): LockRecord[] {
  const f = loadConsulFixture(name);
  return decodeConsul(f.entries, f.sessions, { connection: "c", consistency: "default", now: f.now }).locks;
}
const at = (locks: LockRecord[], key: string) => {
  const l = locks.find((x) => x.key === key);
  if (!l) throw new Error(`no ${key} in ${locks.map((x) => x.key).join(", ")}`);
  return l;
};

/** a's holder is b's only waiter and b's holder is a's only waiter: the two keys differ. */
function expectCycle(a: LockRecord, b: LockRecord) {
  expect(a.holders).toHaveLength(1);
  expect(b.holders).toHaveLength(1);
  expect(a.waiters.map((w) => w.ownerKey)).toEqual([b.holders[0].ownerKey]);
  expect(b.waiters.map((w) => w.ownerKey)).toEqual([a.holders[0].ownerKey]);
  expect(a.holders[0].ownerKey).toBeTruthy();
  expect(a.holders[0].ownerKey).not.toBe(b.holders[0].ownerKey);
}

describe("owner keys from real libraries", () => {
  it("Redisson: two clients' fair locks in a cycle; the key is client UUID + thread, the same in the hash and in the queue", () => {
    const locks = redis("redisson-waits-cycle.json");
    const a = at(locks, "orders:a");
    const b = at(locks, "orders:b");
    expectCycle(a, b);
    expect(a.holders[0].ownerKey).toBe(`redisson:${a.holders[0].id}`);
    expect(a.holders[0].ownerKey).toMatch(/^redisson:[0-9a-f-]{36}:\d+$/);
  });

  it("Redisson: threads of one client are different owners; a writer's :write suffix is not part of the key", () => {
    const fair = at(redis("redisson-fairlock.json"), "orders:fair");
    const keys = [fair.holders[0].ownerKey, ...fair.waiters.map((w) => w.ownerKey)];
    expect(new Set(keys.map((k) => k!.split(":")[1])).size).toBe(1); // one client UUID
    expect(new Set(keys).size).toBe(3); // three threads
    const write = at(redis("redisson-rwlock-write.json"), "catalog:stock");
    expect(write.holders[0].id).toMatch(/:write$/);
    expect(write.holders[0].ownerKey).toBe(`redisson:${write.holders[0].id.replace(/:write$/, "")}`);
  });

  it("plain tokens (node-redlock, go-redsync, python-redis-lock) and Redisson semaphores name no client", () => {
    for (const f of ["node-redlock-all.json", "redsync-all.json", "python-redis-lock-all.json", "redisson-permit-semaphore.json", "redisson-semaphore.json"]) {
      const locks = redis(f);
      expect(locks.length).toBeGreaterThan(0);
      for (const l of locks) for (const h of l.holders) expect(h.ownerKey, `${f} ${l.key}`).toBeUndefined();
    }
  });

  it("etcd Go concurrency.Mutex: two sessions in a cycle; the key is the session's lease", () => {
    const { fixture, locks } = etcd("go-waits-cycle.json");
    const a = at(locks, "locks/waits/a/");
    const b = at(locks, "locks/waits/b/");
    expectCycle(a, b);
    const leases = fixture.notes!.leases as string[];
    expect([a.holders[0].ownerKey, b.holders[0].ownerKey]).toEqual(leases.map((l) => `lease:${l}`));
  });

  it("etcd: one session holding two mutexes and leading an election is one owner", () => {
    const { fixture, locks } = etcd("go-shared-lease.json");
    const keys = new Set(locks.flatMap((l) => l.holders.map((h) => h.ownerKey)));
    expect(keys).toEqual(new Set([`lease:${fixture.notes!.lease}`]));
  });

  it("ZooKeeper Curator: two sessions in a cycle; the key is the ephemeralOwner of the contender nodes", () => {
    const locks = zk("curator-waits-cycle.json");
    const a = at(locks, "/capture/curator-waits/a");
    const b = at(locks, "/capture/curator-waits/b");
    expectCycle(a, b);
    expect(a.holders[0].ownerKey).toBe(`session:${a.holders[0].session!.id}`);
  });

  it("Consul api.Semaphore: holders and contenders are their sessions; api.Lock pair: one session, one owner", () => {
    const sem = consul("api-semaphore.json")[0];
    expect(sem.holders.length + sem.waiters.length).toBe(3);
    for (const p of [...sem.holders, ...sem.waiters]) expect(p.ownerKey).toBe(`session:${p.id}`);
    const pair = consul("api-lock-pair.json");
    expect(new Set(pair.map((l) => l.holders[0].ownerKey)).size).toBe(1);
  });

  it("memory store: the owner label is the client, whatever holder id each acquire used", () => {
    const rec = lockRecordFromView("m", {
      name: "x",
      kind: "mutex",
      permits: 1,
      holdings: [{ holderId: "h1", owner: "svc-1 pid 7", acquiredAt: 0, ttlMs: null, expiresAt: null, lastRenewedAt: 0, fencingToken: 1 }],
      waiters: [{ waiterId: "h2", owner: "svc-2 pid 9", enqueuedAt: 0, deadline: null, ttlMs: null }],
      fencingCounter: 1,
      readAt: 0,
    });
    expect(rec.holders[0].ownerKey).toBe("owner:svc-1 pid 7");
    expect(rec.waiters[0].ownerKey).toBe("owner:svc-2 pid 9");
  });
});
