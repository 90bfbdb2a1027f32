// The Redis adapter against real redis-server processes (started on free loopback ports by
// scripts/servers), with real lock clients writing the locks.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import Redlock from "redlock";
import { startRedis, startRedisCluster, startRedisReplica, type RedisCluster, type RedisServer } from "../../../scripts/servers/redis";
import { waitFor } from "../../../scripts/servers/process";
import { RedisAdapter } from "./adapter";
import { RedisConnectionSchema } from "./config";
import { readEntries } from "./read";
import { Hub } from "../../hub/hub";
import { EventBus, type SequencedEvent } from "../../hub/bus";
import { keyFromBytes } from "../../keys";
import { withFence } from "../../fence";
import type { LockRecord } from "../../model";

const signal = new AbortController().signal;

function adapterFor(url: string, extra: Record<string, unknown> = {}) {
  return new RedisAdapter("r1", RedisConnectionSchema.parse({ id: "r1", kind: "redis", url, ...extra }));
}

describe("standalone Redis", () => {
  let server: RedisServer;
  let client: Redis;
  let adapter: RedisAdapter;

  beforeAll(async () => {
    server = await startRedis({ notifyKeyspaceEvents: "KA" });
    client = new Redis(server.url);
    adapter = adapterFor(server.url);
  });
  afterAll(async () => {
    await adapter.close();
    client.disconnect();
    await server.stop();
  });

  it("shows a lock taken with node-redlock, with the store's PTTL", async () => {
    const redlock = new Redlock([client], { retryCount: 0 });
    const lock = await redlock.acquire(["orders:lock:42"], 60_000);
    const snap = await adapter.snapshot(signal);
    const rec = snap.locks.find((l) => l.key === "orders:lock:42")!;
    expect(rec.library).toBe("node-redlock");
    expect(rec.holders[0].id).toBe(lock.value);
    expect(rec.ttlMs).toBeGreaterThan(55_000);
    expect(rec.ttlMs).toBeLessThanOrEqual(60_000);
    expect(rec.consistency).toBe("primary");
    await lock.release();
    const after = await adapter.snapshot(signal);
    expect(after.locks.find((l) => l.key === "orders:lock:42")).toBeUndefined();
  });

  it("force-release deletes only the exact holding seen; a changed holder is kept (409 path)", async () => {
    await client.set("lock:a", "token-A-0123456789", "PX", 30_000);
    const seen = (await adapter.snapshot(signal)).locks.find((l) => l.key === "lock:a")!;
    // The holding changes after the operator looked: A expired, B took the lock.
    await client.set("lock:a", "token-B-0123456789", "PX", 30_000);
    const changed = await adapter.forceRelease(withFence(seen), "delete", signal);
    expect(changed.status).toBe("changed");
    expect(changed.status === "changed" && changed.current?.holders[0].id).toBe("token-B-0123456789");
    expect(await client.get("lock:a")).toBe("token-B-0123456789");

    const fresh = (await adapter.snapshot(signal)).locks.find((l) => l.key === "lock:a")!;
    // Redis offers delete only: another mode is refused, not run as a delete.
    for (const mode of ["revoke-lease", "prune-empty", "destroy-session", "ask-holder"] as const) {
      expect(await adapter.forceRelease(withFence(fresh), mode, signal)).toMatchObject({ status: "refused", reason: expect.stringMatching(/by delete, not/) });
    }
    expect(await client.get("lock:a")).toBe("token-B-0123456789");
    expect((await adapter.forceRelease(withFence(fresh), "delete", signal)).status).toBe("released");
    expect(await client.exists("lock:a")).toBe(0);
    expect((await adapter.forceRelease(withFence(fresh), "delete", signal)).status).toBe("gone");
  });

  it("python-redis-lock release pushes the wake-up to its signal list", async () => {
    await client.set("lock:report", "abcdefghijklmnopqrstuvwx", "EX", 60);
    const seen = (await adapter.snapshot(signal)).locks.find((l) => l.key === "lock:report")!;
    expect(seen.format).toBe("redis.python-redis-lock");
    const waiter = client.duplicate();
    const woke = waiter.blpop("lock-signal:report", 10);
    expect((await adapter.forceRelease(withFence(seen), "delete", signal)).status).toBe("released");
    expect(await woke).toEqual(["lock-signal:report", "1"]);
    waiter.disconnect();
  });

  it("Redisson-layout hash release publishes the unlock message on the lock's channel", async () => {
    const field = "0b6a5d4e-1111-2222-3333-444455556666:57";
    await client.hset("orders:payout:lock", field, "2");
    await client.pexpire("orders:payout:lock", 30_000);
    const seen = (await adapter.snapshot(signal)).locks.find((l) => l.key === "orders:payout:lock")!;
    expect(seen.format).toBe("redisson.lock");
    const sub = client.duplicate();
    const messages: string[] = [];
    sub.on("message", (ch, msg) => messages.push(`${ch}=${msg}`));
    await sub.subscribe("redisson_lock__channel:{orders:payout:lock}");
    // Re-entrant acquire changes the count: the release must refuse.
    await client.hincrby("orders:payout:lock", field, 1);
    expect((await adapter.forceRelease(withFence(seen), "delete", signal)).status).toBe("changed");
    await client.hincrby("orders:payout:lock", field, -1);
    expect((await adapter.forceRelease(withFence(seen), "delete", signal)).status).toBe("released");
    await waitFor(async () => messages.length > 0, { timeoutMs: 5_000, what: "unlock message" });
    expect(messages).toEqual(["redisson_lock__channel:{orders:payout:lock}=0"]);
    sub.disconnect();
  });

  it("reads bad input without failing: 10 MB value, binary and control-char keys, wrong type", async () => {
    const binaryKey = Buffer.from([0x6c, 0x6f, 0x63, 0x6b, 0x3a, 0xff, 0xfe]); // "lock:" + invalid UTF-8
    await client.set("lock:huge", Buffer.alloc(10 * 1024 * 1024, 0x61));
    await client.set(binaryKey, Buffer.from([0x00, 0x01, 0xff]), "PX", 30_000);
    await client.set("lock:\u0007ctl\nkey", "tok-0123456789abcdef", "PX", 30_000);
    await client.rpush("lock:queue-ish", "a", "b");
    const snap = await adapter.snapshot(signal);
    const byKey = new Map(snap.locks.map((l) => [l.key, l]));
    const huge = byKey.get("lock:huge")!;
    expect(huge.warnings).toContain("value-too-large");
    expect(huge.raw).toBeUndefined(); // previews are built when one lock is re-read, not per snapshot
    const [hugeDetail] = (await adapter.reread(["lock:huge"], signal)).locks;
    expect(hugeDetail.raw?.[0].size).toBe(10 * 1024 * 1024);
    expect(hugeDetail.raw?.[0].truncated).toBe(true);
    expect((await adapter.forceRelease(withFence(huge), "delete", signal)).status).toBe("refused");
    expect(await client.exists("lock:huge")).toBe(1);

    const bin = byKey.get(keyFromBytes(binaryKey))!;
    expect(bin.key.startsWith("base64:")).toBe(true);
    expect((await adapter.reread([bin.key], signal)).locks[0].raw?.[0].encoding).toBe("hex");
    expect((await adapter.forceRelease(withFence(bin), "delete", signal)).status).toBe("released");
    expect(await client.exists(binaryKey)).toBe(0);

    expect(byKey.get("lock:\u0007ctl\nkey")?.state).toBe("held");
    expect(byKey.get("lock:queue-ish")?.state).toBe("unknown");
    expect(snap.problems.some((p) => p.key === "lock:queue-ish" && p.code === "wrong-type")).toBe(true);
  });

  it("a key deleted between discovery and read is reported, not decoded", async () => {
    const res = await readEntries(client, [Buffer.from("lock:never-there")], { cap: 1024 });
    expect(res.vanished).toEqual(["lock:never-there"]);
    expect(res.entries).toEqual([]);
  });

  it("a re-read names no problem for the helper keys it looked for and did not find; a released lock is gone", async () => {
    await client.set("jobs:lock:reread", "reread-token-0123456789", "PX", 30_000);
    const held = await adapter.reread(["jobs:lock:reread"], signal);
    expect(held.locks.map((l) => l.key)).toEqual(["jobs:lock:reread"]);
    // Redisson's queue, timeout and token keys, the "timeout" suffix: read in case this is such
    // a lock; their absence is the usual case, not a key that vanished.
    expect(held.problems).toEqual([]);
    await client.del("jobs:lock:reread");
    const released = await adapter.reread(["jobs:lock:reread"], signal);
    expect(released.locks).toEqual([]);
    expect(released.gone).toEqual(["jobs:lock:reread"]);
    expect(released.problems).toEqual([]);
  });

  /** A hub over this server on keyspace events, started, and a wait for its upsert or remove of a key. */
  function keyspaceHub() {
    const bus = new EventBus();
    const events: SequencedEvent[] = [];
    bus.subscribe((e) => events.push(e));
    // "enable" asks for keyspace events (client tracking is the default feed: live.test.ts).
    const hub = new Hub("r1", adapterFor(server.url, { notifications: "enable" }), bus);
    hub.start();
    const saw = (type: "upsert" | "remove", key: string) =>
      waitFor(
        async () => events.some((e) => (type === "upsert" ? e.type === "upsert" && e.data.lock.key === key : e.type === "remove" && e.data.key === key)),
        {
          timeoutMs: 5_000,
          what: `${type} of ${key}`,
        },
      );
    return { hub, saw };
  }

  it("lock churn adds no problems to the hub (each re-read used to add its missing helper keys, never cleared)", async () => {
    const { hub, saw } = keyspaceHub();
    try {
      await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 10_000, what: "live mode" });
      // Other tests' keys on this server may carry problems of their own: those stay as they are.
      const before = [...hub.currentProblems()];
      for (let i = 0; i < 10; i++) {
        const key = `churn:lock:${i}`;
        await client.set(key, `${key}-token-0123456789`, "PX", 30_000);
        await saw("upsert", key);
        await client.del(key);
        await saw("remove", key);
      }
      expect(hub.currentProblems()).toEqual(before);
    } finally {
      await hub.stop();
    }
  });

  it("hub goes live on keyspace events: a write shows up as an upsert, an expiry as a remove", async () => {
    const { hub, saw } = keyspaceHub();
    try {
      await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 10_000, what: "live mode" });
      expect(hub.statusEvent().feed).toBe("keyspace events");
      await client.set("jobs:lock:live", "live-token-0123456789", "PX", 800);
      await saw("upsert", "jobs:lock:live");
      // The key expires: its remove comes without any command.
      await saw("remove", "jobs:lock:live");
    } finally {
      await hub.stop();
    }
  });
});

describe("a Redis that goes down", () => {
  it("marks only its own connection unreachable, keeps the last snapshot, and recovers", async () => {
    const a = await startRedis();
    const b = await startRedis();
    const ca = new Redis(a.url);
    const cb = new Redis(b.url);
    await ca.set("lock:x", "token-x-0123456789");
    await cb.set("lock:y", "token-y-0123456789");
    const bus = new EventBus();
    const ha = new Hub("a", adapterFor(a.url, { pollIntervalMs: 500 }), bus, { healthIntervalMs: 300 });
    const hb = new Hub("b", adapterFor(b.url, { pollIntervalMs: 500 }), bus, { healthIntervalMs: 300 });
    ha.start();
    hb.start();
    try {
      await waitFor(async () => ha.get("lock:x") !== undefined && hb.get("lock:y") !== undefined, { timeoutMs: 10_000, what: "first snapshots" });
      ca.disconnect();
      await a.kill9();
      await waitFor(async () => ha.statusEvent().status === "unreachable", { timeoutMs: 10_000, what: "a unreachable" });
      expect(ha.statusEvent().stale).toBe(true);
      expect(ha.get("lock:x")).toBeDefined(); // stale beats partial
      expect(hb.statusEvent().status).toBe("ok");
      await cb.set("lock:y2", "token-y2-0123456789");
      await waitFor(async () => hb.get("lock:y2") !== undefined, { timeoutMs: 10_000, what: "b still updating" });
      await a.restart();
      await waitFor(async () => ha.statusEvent().status === "ok" && !ha.statusEvent().stale, { timeoutMs: 15_000, what: "a recovered" });
      // The restarted server has no data (no persistence): the lock is gone from the view.
      await waitFor(async () => ha.get("lock:x") === undefined, { timeoutMs: 10_000, what: "a re-listed" });
    } finally {
      await ha.stop();
      await hb.stop();
      cb.disconnect();
      await a.stop();
      await b.stop();
    }
  });
});

describe("primary + replica", () => {
  let primary: RedisServer;
  let replica: RedisServer;
  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedisReplica(primary);
  });
  afterAll(async () => {
    await replica.stop();
    await primary.stop();
  });

  it("reads from the replica when asked, labels it, and releases on the primary with WAIT", async () => {
    const client = new Redis(primary.url);
    await client.set("lock:replicated", "tok-replicated-0123", "PX", 30_000);
    const adapter = adapterFor(primary.url, { replicaUrl: replica.url, consistency: "replica", waitReplicas: 1 });
    try {
      let seen: LockRecord | undefined;
      await waitFor(async () => (seen = (await adapter.snapshot(signal)).locks.find((l) => l.key === "lock:replicated")) !== undefined, {
        timeoutMs: 5_000,
        what: "replica has the key",
      });
      expect(seen!.consistency).toMatch(/^replica/);
      const out = await adapter.forceRelease(withFence(seen!), "delete", signal);
      expect(out).toEqual({ status: "released", detail: "acknowledged by 1 of 1 replicas within 1 s" });
      expect(await client.exists("lock:replicated")).toBe(0);
    } finally {
      await adapter.close();
      client.disconnect();
    }
  });
});

describe("Redis Cluster (3 masters)", { timeout: 60_000 }, () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it("scans every master and releases through the owning node", async () => {
    const client = new Redis.Cluster([{ host: "127.0.0.1", port: cluster.nodes[0].port }]);
    const keys = Array.from({ length: 30 }, (_, i) => `svc:lock:${i}`);
    for (const k of keys) await client.set(k, `token-${k}-0123456789`, "PX", 60_000);
    const adapter = adapterFor(cluster.urls[0], { topology: "cluster" });
    try {
      // The cluster client learns the slot map first; on a loaded machine that can take a while.
      await waitFor(async () => (await adapter.health(signal)).status === "ok", { timeoutMs: 30_000, what: "cluster client ready" });
      const snap = await adapter.snapshot(signal);
      expect(snap.locks.map((l) => l.key).sort()).toEqual([...keys].sort());
      const one = snap.locks.find((l) => l.key === "svc:lock:7")!;
      expect((await adapter.forceRelease(withFence(one), "delete", signal)).status).toBe("released");
      expect(await client.exists("svc:lock:7")).toBe(0);
      // The TTL shown is the store's own PTTL (compared with a direct read, not with our clock).
      const ttls = await adapter.ttls(["svc:lock:1", "svc:lock:2"]);
      const direct = await client.pttl("svc:lock:1");
      expect(direct).toBeGreaterThan(0);
      expect(Math.abs(ttls.get("svc:lock:1")! - direct)).toBeLessThan(2_000);
    } finally {
      await adapter.close();
    }
    // Live by client tracking on every master: a write owned by each one arrives.
    const bus = new EventBus();
    const seen = new Set<string>();
    bus.subscribe((e) => void (e.type === "upsert" && seen.add(e.data.lock.key)));
    const hub = new Hub("r1", adapterFor(cluster.urls[0], { topology: "cluster", pollIntervalMs: 60_000 }), bus, { healthIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 30_000, what: "cluster hub live" });
      expect(hub.statusEvent().feed).toMatch(/^client tracking/);
      const masters = client.nodes("master");
      const perMaster = new Map<number, string>();
      for (let i = 0; perMaster.size < masters.length && i < 1000; i++) {
        const key = `live:lock:${i}`;
        const port = await masterPortOf(client, key);
        if (!perMaster.has(port)) perMaster.set(port, key);
      }
      expect(perMaster.size).toBe(3);
      for (const key of perMaster.values()) await client.set(key, `token-${key}-0123456789`, "PX", 60_000);
      await waitFor(async () => [...perMaster.values()].every((k) => seen.has(k)), { timeoutMs: 5_000, what: "one write on each master" });
    } finally {
      await hub.stop();
      client.disconnect();
    }
  });

  // Last in this block: it kills a master of the shared cluster.
  it("connects at once, and once a master is lost says degraded with the cluster's own state, on the page too", async () => {
    const bus = new EventBus();
    const hub = new Hub("r1", adapterFor(cluster.urls[0], { topology: "cluster", pollIntervalMs: 500 }), bus, { healthIntervalMs: 300 });
    const started = Date.now();
    hub.start();
    try {
      // ioredis's own ready check once raced the node sockets and kept a healthy cluster
      // "connecting" for up to 17 s.
      await waitFor(async () => hub.statusEvent().status === "ok" && hub.statusEvent().confirmedAt !== null, { timeoutMs: 10_000, what: "cluster hub ok" });
      expect(Date.now() - started).toBeLessThan(5_000);
      await cluster.nodes[2].kill9();
      await waitFor(async () => hub.statusEvent().status === "degraded", { timeoutMs: 20_000, what: "hub degraded" });
      expect(hub.statusEvent().message).toMatch(/cluster_state:fail/);
    } finally {
      await hub.stop();
    }
  });
});

/** The port of the master that owns the key's slot. */
async function masterPortOf(client: InstanceType<typeof Redis.Cluster>, key: string): Promise<number> {
  const slot = Number(await client.cluster("KEYSLOT", key));
  const slots = (await client.cluster("SLOTS")) as unknown as Array<[number, number, [string, number]]>;
  return slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
}

describe("going live", () => {
  it("announces live in a status event as soon as the feed has caught up, without waiting for a write", async () => {
    const server = await startRedis({ notifyKeyspaceEvents: "KA" });
    const bus = new EventBus();
    const statuses: string[] = [];
    bus.subscribe((e) => {
      if (e.type === "status") statuses.push(e.data.mode);
    });
    const hub = new Hub("r1", adapterFor(server.url), bus);
    hub.start();
    try {
      await waitFor(async () => statuses.includes("live"), { timeoutMs: 10_000, what: "a status event saying live" });
      expect(hub.statusEvent().mode).toBe("live");
    } finally {
      await hub.stop();
      await server.stop();
    }
  });
});
