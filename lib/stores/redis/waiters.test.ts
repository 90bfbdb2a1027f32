// Redisson waiters Redis only counts: real Redisson clients (each its own RedissonClient, as
// separate services would be) blocked in RLock.lock(), RReadWriteLock and RSemaphore.acquire(),
// against a real redis-server and a real 3-master Redis Cluster. The hub must show them as
// anonymous waiters with the count Redis reports (PUBSUB NUMSUB / SHARDNUMSUB on the right
// node), make the lock contended, and drop the count once they got through.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import Redis, { Cluster } from "ioredis";
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from "../../../scripts/servers/redis";
import { waitFor } from "../../../scripts/servers/process";
import { prepareRedisson, startHold, type HoldProcess } from "../../../scripts/capture/hold";
import { HOLD_JVM_FLAGS } from "../../../scripts/capture/curator/prepare";
import { EventBus } from "../../hub/bus";
import { Hub } from "../../hub/hub";
import { lockStatus } from "../../status";
import { RedisAdapter } from "./adapter";
import { RedisConnectionSchema } from "./config";
import type { LockRecord } from "../../model";
import { withFence } from "../../fence";

const procs: HoldProcess[] = [];
const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
  await Promise.all(hubs.splice(0).map((h) => h.stop()));
});

let tool: { java: string; jar: string };
let server: RedisServer;
let cluster: RedisCluster;
beforeAll(async () => {
  [tool, server, cluster] = await Promise.all([prepareRedisson(), startRedis(), startRedisCluster(3)]);
}, 300_000);
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()]);
});

function hubOn(url: string, topology: "standalone" | "cluster") {
  const id = `w-${topology}`;
  const cfg = RedisConnectionSchema.parse({ id, kind: "redis", url, topology, notifications: "off", pollIntervalMs: 500 });
  const hub = new Hub(id, new RedisAdapter(id, cfg), new EventBus(), { waitersIntervalMs: 200, healthIntervalMs: 1_000 });
  hub.start();
  hubs.push(hub);
  return hub;
}

function hold(url: string, scenario: string, name: string, waiters: number, env: Record<string, string> = {}) {
  const p = startHold(`redisson ${scenario} ${name}`, tool.java, [...HOLD_JVM_FLAGS, "-jar", tool.jar, "hold", url, scenario, name, String(waiters)], { env });
  procs.push(p);
  return p;
}

describe("Redisson waiters that Redis only counts (real Redisson clients blocked)", () => {
  it.each([
    ["rlock-contended", "orders:payout:lock", "redisson_lock__channel:{orders:payout:lock}"],
    ["rwlock-contended", "catalog:rwlock", "redisson_rwlock:{catalog:rwlock}"],
    ["semaphore-contended", "jobs:workers:semaphore", "redisson_sc:{jobs:workers:semaphore}"],
  ])(
    "%s: 2 blocked clients are 2 waiting (not identified), from PUBSUB NUMSUB; the lock is contended until they get through",
    async (scenario, name, channel) => {
      const hub = hubOn(server.url, "standalone");
      const p = hold(server.url, scenario, name, 2);
      await p.waitForLine("READY", 60_000);
      const raw = new Redis(server.url);
      try {
        // Redis's own count, for the comparison.
        const [, subscribers] = (await raw.call("PUBSUB", "NUMSUB", channel)) as [string, number];
        expect(Number(subscribers)).toBe(2);
        await waitFor(async () => hub.get(name)?.anonymousWaiters?.count === 2, { timeoutMs: 10_000, what: `${name} with 2 anonymous waiters` });
        const rec = hub.get(name)!;
        expect(rec.anonymousWaiters!.source).toContain(`PUBSUB NUMSUB ${channel}`);
        expect(Date.parse(rec.anonymousWaiters!.since)).toBeLessThanOrEqual(Date.now());
        expect(lockStatus(rec)).toBe("contended");
        expect(hub.counts().contended).toBe(1);
        // Let go: each waiter client takes the lock (or permit) in turn and drops it.
        expect(await p.release(60_000)).toBe(0);
        expect(p.lines().filter((l) => l.startsWith("ACQUIRED "))).toHaveLength(2);
        await waitFor(async () => !hub.get(name)?.anonymousWaiters, { timeoutMs: 10_000, what: `${name} without waiters` });
      } finally {
        raw.disconnect();
      }
    },
    120_000,
  );

  it("on a Redis Cluster, Redisson's subscriptions are counted on the shard that owns the lock's slot", async () => {
    const name = "cluster:orders:lock";
    const hub = hubOn(cluster.urls[0], "cluster");
    const p = hold(cluster.urls[0], "rlock-contended", name, 2, { LOCKDECK_REDISSON_CLUSTER: "1" });
    await p.waitForLine("READY", 60_000);
    await waitFor(async () => hub.get(name)?.anonymousWaiters?.count === 2, { timeoutMs: 15_000, what: "2 anonymous waiters on the cluster" });
    const src = hub.get(name)!.anonymousWaiters!.source;
    // Which pub/sub Redisson chose on Redis 7 (sharded or classic), and on which node: the
    // answer names it, and it is the node that owns the channel's slot (= the lock key's slot).
    const c = new Cluster([{ host: "127.0.0.1", port: cluster.nodes[0].port }]);
    try {
      await waitFor(async () => c.status === "ready", { timeoutMs: 10_000, what: "cluster client" });
      const owner = c.slots[Number(await c.cluster("KEYSLOT", name))][0];
      expect(src).toMatch(/PUBSUB (SHARD)?NUMSUB redisson_lock__channel:\{cluster:orders:lock\} \(/);
      expect(src).toContain(`(${owner})`);
      console.info(`[redisson on cluster] ${src}`);
    } finally {
      c.disconnect();
    }
    expect(await p.release(60_000)).toBe(0);
    await waitFor(async () => !hub.get(name)?.anonymousWaiters, { timeoutMs: 10_000, what: "no waiters after release" });
  }, 120_000);

  it("on a Redis Cluster, a force-release wakes a Redisson waiter on sharded pub/sub at once (SPUBLISH), not at its own retry", async () => {
    const name = "cluster:payout:lock";
    // The holder's lease (watchdog) is 60 s: a waiter nobody wakes retries only when that runs out.
    const p = hold(cluster.urls[0], "rlock-contended", name, 1, { LOCKDECK_REDISSON_CLUSTER: "1", LOCKDECK_REDISSON_WATCHDOG_MS: "60000" });
    await p.waitForLine("READY", 60_000);
    const cfg = RedisConnectionSchema.parse({ id: "rel", kind: "redis", url: cluster.urls[0], topology: "cluster", notifications: "off" });
    const adapter = new RedisAdapter("rel", cfg);
    const signal = new AbortController().signal;
    try {
      let rec: LockRecord | undefined;
      await waitFor(async () => !!(rec = (await adapter.snapshot(signal)).locks.find((l) => l.key === name)), { timeoutMs: 15_000, what: `${name} read` });
      // The waiter is on sharded pub/sub (what PUBLISH alone does not reach).
      const waiting = (await adapter.anonymousWaiters([rec!], signal)).get(name);
      expect(waiting).toMatchObject({ count: 1 });
      expect(waiting!.source).toContain(`PUBSUB SHARDNUMSUB redisson_lock__channel:{${name}}`);
      expect(adapter.describeRelease(withFence(rec!)).wakes).toContain("SPUBLISH");
      const released = Date.now();
      expect(await adapter.forceRelease(withFence(rec!), "delete", signal)).toMatchObject({ status: "released" });
      const line = () => p.lines().find((l) => l.startsWith("ACQUIRED 0 "));
      await waitFor(async () => !!line(), { timeoutMs: 10_000, what: "the waiter to acquire" });
      const acquired = Number(line()!.split(" ")[2]);
      console.info(`[redisson on cluster] waiter acquired ${acquired - released} ms after the force-release (its own retry: ~60 s)`);
      expect(acquired - released).toBeLessThan(10_000);
    } finally {
      await adapter.close();
    }
  }, 120_000);
});
