// The Redis adapter against locks taken by the REAL lock libraries (Redisson in a JVM,
// go-redsync, python-redis-lock), each running its hold program (scripts/capture/README.md)
// against a real redis-server: what LockDeck shows must be what the library wrote, and a
// LockDeck force-release must wake the library's own waiters.
// node-redlock runs in-process in adapter.test.ts.
//
// A missing toolchain (java, mvn, go, python3) fails the suite with how to install it.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { startRedis, type RedisServer } from "../../../scripts/servers/redis";
import { waitFor } from "../../../scripts/servers/process";
import { prepareRedisson, prepareRedsync, preparePythonRedisLock, startHold, type HoldProcess } from "../../../scripts/capture/hold";
import type { LockRecord } from "../../model";
import { RedisAdapter } from "./adapter";
import { withFence } from "../../fence";
import { RedisConnectionSchema } from "./config";

const signal = new AbortController().signal;
const BUILD_TIMEOUT_MS = 300_000;
const READY_TIMEOUT_MS = 30_000;
const HOLDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:\d+$/;

/** Every hold process a test starts; afterEach kills what is still running. */
const procs: HoldProcess[] = [];
function track(p: HoldProcess): HoldProcess {
  procs.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});

/** One store with a fresh adapter and a raw client for cross-checks; flushed before each test. */
function redisFixture() {
  const s = {} as { server: RedisServer; adapter: RedisAdapter; raw: Redis };
  beforeAll(async () => {
    s.server = await startRedis();
    s.adapter = new RedisAdapter("r1", RedisConnectionSchema.parse({ id: "r1", kind: "redis", url: s.server.url }));
    s.raw = new Redis(s.server.url);
  });
  beforeEach(async () => {
    await s.raw.flushall();
  });
  afterAll(async () => {
    await s.adapter?.close();
    s.raw?.disconnect();
    await s.server?.stop();
  });
  return s;
}

async function lockAt(adapter: RedisAdapter, key: string): Promise<LockRecord> {
  const snap = await adapter.snapshot(signal);
  const rec = snap.locks.find((l) => l.key === key);
  if (!rec) throw new Error(`no record for ${key}; keys seen: ${JSON.stringify(snap.locks.map((l) => l.key))}`);
  return rec;
}

/** A `label: value` line the hold program wrote to stderr. */
function stderrValue(p: HoldProcess, re: RegExp): string {
  const m = re.exec(p.stderr());
  if (!m) throw new Error(`${p.label}: ${re} not on stderr:\n${p.stderr()}`);
  return m[1];
}

describe("Redisson 3.52.0 (real client in a JVM)", () => {
  let tool: { java: string; jar: string };
  const s = redisFixture();
  beforeAll(async () => {
    tool = await prepareRedisson();
  }, BUILD_TIMEOUT_MS);

  async function hold(scenario: string, name: string, waitReady = true): Promise<HoldProcess> {
    const p = track(startHold(`redisson ${scenario} ${name}`, tool.java, ["-jar", tool.jar, "hold", s.server.url, scenario, name]));
    if (waitReady) await p.waitForLine("READY", READY_TIMEOUT_MS);
    return p;
  }

  it("RLock: one re-entrant holder <uuid>:<tid> with the watchdog TTL; unlock leaves only latch noise", async () => {
    const p = await hold("rlock", "orders:payout:lock");
    const fields = await s.raw.hgetall("orders:payout:lock");
    const rec = await lockAt(s.adapter, "orders:payout:lock");
    expect(rec).toMatchObject({ format: "redisson.lock", library: "Redisson", kind: "mutex", state: "held", ttlSource: "pttl", waiters: [] });
    expect(rec.holders).toHaveLength(1);
    expect(rec.holders[0].id).toMatch(HOLDER_ID);
    expect(Object.keys(fields)).toEqual([rec.holders[0].id]);
    expect(rec.holders[0].reentrancy).toBe(2); // lock() twice in one thread
    expect(rec.ttlMs).toBeGreaterThan(0);
    expect(rec.ttlMs).toBeLessThanOrEqual(30_000);
    expect(rec.warnings).toEqual([]);
    expect(rec.fencingToken).toBeUndefined();

    expect(await p.release()).toBe(0);
    // Redisson leaves redisson_unlock_latch:{name}:<id> keys behind; they are not locks.
    const [, latches] = await s.raw.scan("0", "MATCH", "redisson_unlock_latch:*", "COUNT", 1000);
    expect(latches).not.toHaveLength(0);
    const after = await s.adapter.snapshot(signal);
    expect(after.locks.map((l) => l.key)).toEqual([]);
    expect(after.problems).toEqual([]);
  });

  it("FairLock: the holder, and both queued waiters in arrival order with their deadlines", async () => {
    const name = "orders:fair:lock";
    await hold("fairlock", name);
    const queue = await s.raw.lrange(`redisson_lock_queue:{${name}}`, 0, -1);
    const rec = await lockAt(s.adapter, name);
    expect(rec).toMatchObject({ format: "redisson.fair", library: "Redisson", kind: "mutex", state: "held" });
    expect(rec.holders).toHaveLength(1);
    expect(rec.holders[0].id).toMatch(HOLDER_ID);
    expect(rec.holders[0].reentrancy).toBe(1);
    expect(queue).toHaveLength(2);
    expect(rec.waiters.map((w) => [w.position, w.id])).toEqual([
      [1, queue[0]],
      [2, queue[1]],
    ]);
    for (const w of rec.waiters) expect(w.id).toMatch(HOLDER_ID);
    expect(rec.waiters.map((w) => w.id)).not.toContain(rec.holders[0].id);
    // Deadlines from redisson_lock_timeout: the second is the first + 300 s (threadWaitTime).
    const [d1, d2] = rec.waiters.map((w) => Date.parse(w.deadline ?? ""));
    expect(d1).toBeGreaterThan(Date.now());
    expect(d2 - d1).toBe(300_000);
    expect(rec.relatedKeys).toEqual(expect.arrayContaining([`redisson_lock_queue:{${name}}`, `redisson_lock_timeout:{${name}}`]));
  });

  it("FairLock force-release wakes the queue head on its own channel; the queue drains at once", async () => {
    const name = "orders:fair:lock";
    await hold("fairlock", name);
    const rec = await lockAt(s.adapter, name);
    expect(rec.waiters).toHaveLength(2);
    // Unwoken, the head would sleep for the lock's remaining TTL (20-30 s, the watchdog's range).
    expect(rec.ttlMs).toBeGreaterThan(15_000);
    const releasedAt = Date.now();
    expect(await s.adapter.forceRelease(withFence(rec), "delete", signal)).toMatchObject({ status: "released" });
    // Each waiter locks and unlocks as soon as it gets the lock, waking the next one itself.
    await waitFor(async () => (await s.raw.exists(name, `redisson_lock_queue:{${name}}`, `redisson_lock_timeout:{${name}}`)) === 0, {
      timeoutMs: 15_000,
      what: "both fair waiters to take and drop the lock",
    });
    expect(Date.now() - releasedAt).toBeLessThan(10_000);
    expect((await s.adapter.snapshot(signal)).locks).toEqual([]);
  });

  it("FencedLock: the fencing token lockAndGetToken() returned", async () => {
    const name = "ledger:append:lock";
    const p = await hold("fencedlock", name);
    const token = stderrValue(p, /fencing token: (\d+)/);
    const rec = await lockAt(s.adapter, name);
    expect(rec).toMatchObject({ format: "redisson.fenced", library: "Redisson", kind: "mutex", fencingToken: token });
    expect(rec.holders).toHaveLength(1);
    expect(rec.holders[0].id).toMatch(HOLDER_ID);
    expect(rec.holders[0].reentrancy).toBe(1);
    expect(rec.ttlMs).toBeGreaterThan(0);
    expect(rec.ttlMs).toBeLessThanOrEqual(30_000);
    expect(rec.relatedKeys).toEqual([`redisson_lock_token:{${name}}`]);
  });

  it("ReadWriteLock, read: two reader holders", async () => {
    const name = "catalog:prices:lock";
    await hold("rwlock-read", name);
    const fields = await s.raw.hgetall(name);
    const rec = await lockAt(s.adapter, name);
    expect(rec).toMatchObject({ format: "redisson.rwlock", library: "Redisson", kind: "rwlock", state: "held" });
    expect(rec.holders).toHaveLength(2);
    expect(rec.holders.map((h) => h.id).sort()).toEqual(
      Object.keys(fields)
        .filter((f) => f !== "mode")
        .sort(),
    );
    for (const h of rec.holders) {
      expect(h.id).toMatch(HOLDER_ID);
      expect(h.reentrancy).toBe(1);
      expect(h.owner).toMatch(/\(reader\)$/);
    }
    expect(rec.ttlMs).toBeGreaterThan(0);
    expect(rec.ttlMs).toBeLessThanOrEqual(30_000);
    // One {name}:<uuid>:<tid>:rwlock_timeout:1 per reader belongs to the lock.
    expect(rec.relatedKeys?.filter((k) => k.includes(":rwlock_timeout:")).sort()).toEqual(rec.holders.map((h) => `{${name}}:${h.id}:rwlock_timeout:1`).sort());
  });

  it("ReadWriteLock, write: one writer holder", async () => {
    const name = "catalog:stock:lock";
    await hold("rwlock-write", name);
    const rec = await lockAt(s.adapter, name);
    expect(rec).toMatchObject({ format: "redisson.rwlock", library: "Redisson", kind: "rwlock", state: "held" });
    expect(rec.holders).toHaveLength(1);
    expect(rec.holders[0].id).toMatch(/^[0-9a-f-]{36}:\d+:write$/);
    expect(rec.holders[0].owner).toMatch(/\(writer\)$/);
  });

  it("RSemaphore: free permits, and a warning that holders are not recorded", async () => {
    const name = "jobs:workers:semaphore";
    await hold("semaphore", name);
    const rec = await lockAt(s.adapter, name);
    expect(rec).toMatchObject({ format: "redisson.semaphore", library: "Redisson", kind: "semaphore", permitsFree: 2, ttlMs: null });
    expect(rec.warnings).toContain("holders-not-recorded");
    expect((await s.adapter.forceRelease(withFence(rec), "delete", signal)).status).toBe("refused");
  });

  it("PermitExpirableSemaphore: free permits and the two permit ids the API returned", async () => {
    const name = "api:quota:semaphore";
    const p = await hold("permit-semaphore", name);
    const [noLease, leased] = stderrValue(p, /permit ids: (\S+ \(no lease\), \S+) \(60 s lease\)/).split(" (no lease), ");
    const rec = await lockAt(s.adapter, name);
    expect(rec).toMatchObject({ format: "redisson.permit-semaphore", library: "Redisson", kind: "semaphore", state: "held", permitsFree: 1 });
    expect(rec.holders).toHaveLength(2);
    const byId = new Map(rec.holders.map((h) => [h.id, h]));
    expect([...byId.keys()].sort()).toEqual([noLease, leased].sort());
    expect(byId.get(noLease)!.expiresAt).toBeUndefined();
    const leaseLeft = Date.parse(byId.get(leased)!.expiresAt!) - Date.now();
    expect(leaseLeft).toBeGreaterThan(40_000);
    expect(leaseLeft).toBeLessThanOrEqual(60_000);
    expect(rec.relatedKeys).toEqual([`{${name}}:timeout`]);
    expect(rec.warnings).not.toContain("no-expiry");
  });

  it("a blocked Redisson lock() gets the lock promptly once LockDeck force-releases the holder", async () => {
    const name = "orders:payout:lock";
    const channel = `redisson_lock__channel:{${name}}`;
    const a = await hold("rlock", name);
    const aField = Object.keys(await s.raw.hgetall(name))[0];
    const bStarted = Date.now();
    const b = await hold("rlock", name, false);
    // B is waiting once it subscribed to the lock's channel (Redisson lock() subscribes, then sleeps
    // for the TTL it was told, woken early only by an unlock message).
    await waitFor(async () => ((await s.raw.pubsub("NUMSUB", channel)) as [string, number])[1] >= 1, {
      timeoutMs: READY_TIMEOUT_MS,
      what: `B subscribed to ${channel}`,
    });
    expect(b.lines()).not.toContain("READY");

    const seen = await lockAt(s.adapter, name);
    expect(seen.holders.map((h) => [h.id, h.reentrancy])).toEqual([[aField, 2]]);
    // The watchdog keeps A's TTL in 20-30 s: unwoken, B would sleep at least ~20 s from its start.
    expect(seen.ttlMs).toBeGreaterThan(15_000);
    const releasedAt = Date.now();
    expect(await s.adapter.forceRelease(withFence(seen), "delete", signal)).toMatchObject({ status: "released" });
    await b.waitForLine("READY", 15_000);
    const wokeAfterMs = Date.now() - releasedAt;
    expect(wokeAfterMs).toBeLessThan(5_000);
    expect(Date.now() - bStarted).toBeLessThan(18_000);

    const now = await lockAt(s.adapter, name);
    expect(now.holders).toHaveLength(1);
    expect(now.holders[0].id).toMatch(HOLDER_ID);
    expect(now.holders[0].id).not.toBe(aField);
    expect(now.holders[0].id.split(":")[0]).not.toBe(aField.split(":")[0]); // another JVM's client UUID
    expect(now.holders[0].reentrancy).toBe(2);
    expect(Object.keys(await s.raw.hgetall(name))).toEqual([now.holders[0].id]);

    // A still believes it holds the lock; its own unlock must fail without touching B's holding.
    expect(await a.release()).toBe(1);
    expect(a.stderr()).toMatch(/IllegalMonitorStateException/);
    expect((await lockAt(s.adapter, name)).holders.map((h) => h.id)).toEqual([now.holders[0].id]);
    expect(await b.release()).toBe(0);
    expect((await s.adapter.snapshot(signal)).locks).toEqual([]);
  });

  /** A holds `held`, B blocks in `waiting` on the same name; LockDeck force-releases A. */
  async function rwHandover(name: string, held: string, waiting: string) {
    const channel = `redisson_rwlock:{${name}}`;
    await hold(held, name);
    const bStarted = Date.now();
    const b = await hold(waiting, name, false);
    await waitFor(async () => ((await s.raw.pubsub("NUMSUB", channel)) as [string, number])[1] >= 1, {
      timeoutMs: READY_TIMEOUT_MS,
      what: `B subscribed to ${channel}`,
    });
    expect(b.lines()).not.toContain("READY");
    const seen = await lockAt(s.adapter, name);
    expect(seen.format).toBe("redisson.rwlock");
    expect(seen.ttlMs).toBeGreaterThan(15_000);
    const releasedAt = Date.now();
    expect(await s.adapter.forceRelease(withFence(seen), "delete", signal)).toMatchObject({ status: "released" });
    await b.waitForLine("READY", 15_000);
    expect(Date.now() - releasedAt).toBeLessThan(5_000);
    expect(Date.now() - bStarted).toBeLessThan(18_000);
    return { seen, now: await lockAt(s.adapter, name) };
  }

  it("ReadWriteLock: a writer blocked behind two readers gets the lock once LockDeck force-releases them", async () => {
    const { seen, now } = await rwHandover("catalog:prices:lock", "rwlock-read", "rwlock-write");
    expect(seen.holders).toHaveLength(2);
    expect(now.holders).toHaveLength(1);
    expect(now.holders[0].id).toMatch(/^[0-9a-f-]{36}:\d+:write$/);
    expect(now.holders[0].id.split(":")[0]).not.toBe(seen.holders[0].id.split(":")[0]);
    expect(now.holders[0].owner).toMatch(/\(writer\)$/);
  });

  it("ReadWriteLock: a reader blocked behind a writer gets the lock once LockDeck force-releases it", async () => {
    const { seen, now } = await rwHandover("catalog:stock:lock", "rwlock-write", "rwlock-read");
    expect(seen.holders.map((h) => h.id)).toEqual([expect.stringMatching(/:write$/)]);
    // The rwlock-read scenario takes the read lock in two threads: both got it.
    expect(now.holders).toHaveLength(2);
    const writerClient = seen.holders[0].id.split(":")[0];
    for (const h of now.holders) {
      expect(h.id).toMatch(HOLDER_ID);
      expect(h.id.split(":")[0]).not.toBe(writerClient);
      expect(h.owner).toMatch(/\(reader\)$/);
    }
  });
});

describe("go-redsync v4.18.1", () => {
  let bin: string;
  const s = redisFixture();
  beforeAll(async () => {
    bin = await prepareRedsync();
  }, BUILD_TIMEOUT_MS);

  it("shows the mutex as a go-redsync token with the holder's value and the store's TTL", async () => {
    const name = "orders:lock:redsync";
    const p = track(startHold(`redsync ${name}`, bin, ["hold", s.server.url, name, "45000"]));
    await p.waitForLine("READY", READY_TIMEOUT_MS);
    const value = stderrValue(p, /held orders:lock:redsync value=(\S+)/);
    const rec = await lockAt(s.adapter, name);
    expect(rec).toMatchObject({ format: "redis.token", library: "go-redsync", kind: "mutex", state: "held", ttlSource: "pttl" });
    expect(rec.holders).toEqual([{ id: value }]);
    expect(await s.raw.get(name)).toBe(value);
    expect(rec.ttlMs).toBeGreaterThan(40_000);
    expect(rec.ttlMs).toBeLessThanOrEqual(45_000);
    expect(rec.warnings).toEqual([]);

    expect(await p.release()).toBe(0);
    expect((await s.adapter.snapshot(signal)).locks).toEqual([]);
  });
});

// Blocks in acquire() (expire=None: BLPOP on lock-signal:<name> with no timeout, so only a
// wake-up push ends the wait), then follows the hold protocol.
const PY_WAITER = `
import sys, redis, redis_lock
lock = redis_lock.Lock(redis.Redis.from_url(sys.argv[1]), sys.argv[2], expire=None)
lock.acquire(blocking=True)
print(f"held {lock._name} id={lock.id}", file=sys.stderr)
print("READY", flush=True)
sys.stdin.readline()
lock.release()
print("RELEASED", flush=True)
`;

describe("python-redis-lock 4.0.1", () => {
  let py: { python: string; script: string };
  const s = redisFixture();
  beforeAll(async () => {
    py = await preparePythonRedisLock();
  }, BUILD_TIMEOUT_MS);

  async function hold(name: string, expire: string): Promise<HoldProcess> {
    const p = track(startHold(`python-redis-lock ${name}`, py.python, [py.script, "hold", s.server.url, name, expire]));
    await p.waitForLine("READY", READY_TIMEOUT_MS);
    return p;
  }

  it("expire=None: no TTL, a no-expiry warning; force-release deletes it and wakes a blocked acquire()", async () => {
    const name = "report:nightly";
    const p = await hold(name, "none");
    const id = stderrValue(p, /held lock:report:nightly id=(\S+)/);
    const rec = await lockAt(s.adapter, `lock:${name}`);
    expect(rec).toMatchObject({
      format: "redis.python-redis-lock",
      library: "python-redis-lock",
      name,
      kind: "mutex",
      state: "held",
      ttlMs: null,
      ttlSource: "none",
    });
    expect(rec.holders).toEqual([{ id }]);
    expect(rec.warnings).toContain("no-expiry");

    const waiter = track(startHold(`python-redis-lock waiter ${name}`, py.python, ["-c", PY_WAITER, s.server.url, name]));
    await waitFor(async () => /blocked_clients:1\b/.test(await s.raw.info("clients")), {
      timeoutMs: READY_TIMEOUT_MS,
      what: "the python waiter blocked in BLPOP",
    });
    expect(waiter.lines()).not.toContain("READY");

    const out = await s.adapter.forceRelease(withFence(rec), "delete", signal);
    expect(out).toMatchObject({ status: "released", detail: `pushed a wake-up to lock-signal:${name}` });
    // The waiter was blocked without a timeout: only LockDeck's push can wake it.
    await waiter.waitForLine("READY", 10_000);
    const newId = stderrValue(waiter, /held lock:report:nightly id=(\S+)/);
    expect(newId).not.toBe(id);
    expect((await lockAt(s.adapter, `lock:${name}`)).holders).toEqual([{ id: newId }]);

    // The first holder's own release finds someone else's id: NotAcquired, the new holding stays.
    expect(await p.release()).toBe(0);
    expect(p.stderr()).toMatch(/NotAcquired/);
    expect(await s.raw.get(`lock:${name}`)).toBe(newId);
    expect(await waiter.release()).toBe(0);
    expect(await s.raw.exists(`lock:${name}`)).toBe(0);
  });

  it("expire=None with no waiter: force-release leaves the key gone", async () => {
    const name = "report:weekly";
    const p = await hold(name, "none");
    const rec = await lockAt(s.adapter, `lock:${name}`);
    expect(await s.adapter.forceRelease(withFence(rec), "delete", signal)).toMatchObject({ status: "released" });
    expect(await s.raw.exists(`lock:${name}`)).toBe(0);
    expect((await s.adapter.snapshot(signal)).locks).toEqual([]);
    expect(await s.adapter.forceRelease(withFence(rec), "delete", signal)).toEqual({ status: "gone" });
    expect(await p.release()).toBe(0);
  });

  it("expire=60 with auto-renewal: the store's TTL, no no-expiry warning", async () => {
    const name = "report:daily";
    const p = await hold(name, "60");
    const rec = await lockAt(s.adapter, `lock:${name}`);
    expect(rec).toMatchObject({ format: "redis.python-redis-lock", library: "python-redis-lock", ttlSource: "pttl" });
    expect(rec.ttlMs).toBeGreaterThan(50_000);
    expect(rec.ttlMs).toBeLessThanOrEqual(60_000);
    expect(rec.warnings).not.toContain("no-expiry");
    expect(await p.release()).toBe(0);
    expect((await s.adapter.snapshot(signal)).locks).toEqual([]);
  });
});
