import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import path from "node:path";
import { RedisDecoder, decodeRedis } from "./index";
import { loadFixture } from "../../../test/support/fixtures/redis";
import { decodeFence, fenceOf } from "../../fence";
import { createHash } from "node:crypto";
import type { RedisEntry } from "./entry";

function decode(name: string) {
  const { fixture, entries } = loadFixture(name);
  const res = decodeRedis(entries, { connection: "c1", consistency: "primary", now: fixture.now, previews: true });
  const byKey = new Map(res.locks.map((l) => [l.key, l]));
  return { ...res, byKey, fixture };
}

describe("Redisson layouts captured from the real library", () => {
  it("RLock: one holder with its reentrancy, PTTL as TTL", () => {
    const { locks, byKey } = decode("redisson-rlock.json");
    expect(locks).toHaveLength(1);
    const l = byKey.get("orders:payout")!;
    expect(l.format).toBe("redisson.lock");
    expect(l.holders).toHaveLength(1);
    expect(l.holders[0].id).toMatch(/^[0-9a-f-]{36}:\d+$/);
    expect(l.holders[0].reentrancy).toBe(2);
    expect(l.ttlSource).toBe("pttl");
    expect(l.ttlMs).toBeGreaterThan(0);
    expect(l.warnings).toEqual([]);
    const fence = decodeFence(fenceOf(l));
    expect(fence.h.t).toBe("hash");
    expect(fence.h.ch).toBe("redisson_lock__channel:{orders:payout}");
  });

  it("FairLock: queue order and deadlines become ordered waiters; wake goes to the head's channel", () => {
    const { byKey, fixture } = decode("redisson-fairlock.json");
    const l = byKey.get("orders:fair")!;
    expect(l.format).toBe("redisson.fair");
    const queue = fixture.entries.find((e) => e.key.startsWith("redisson_lock_queue:"))!.list as string[];
    expect(l.waiters.map((w) => w.id)).toEqual(queue);
    expect(l.waiters.map((w) => w.position)).toEqual([1, 2]);
    expect(Date.parse(l.waiters[0].deadline!)).toBeLessThan(Date.parse(l.waiters[1].deadline!));
    expect(decodeFence(fenceOf(l)).h.ch).toBe(`redisson_lock__channel:{orders:fair}:${queue[0]}`);
    expect(l.relatedKeys).toEqual(["redisson_lock_queue:{orders:fair}", "redisson_lock_timeout:{orders:fair}"]);
  });

  it("FairLock with a hash-tagged name uses Redisson's other helper spelling", () => {
    const { locks, byKey } = decode("redisson-fairlock-hashtag.json");
    expect(locks).toHaveLength(1);
    const l = byKey.get("{orders}:fair")!;
    expect(l.format).toBe("redisson.fair");
    expect(l.waiters.length).toBeGreaterThan(0);
  });

  it("waiters past their deadline are left out", () => {
    const { fixture, entries } = loadFixture("redisson-fairlock.json");
    const late = decodeRedis(entries, { connection: "c1", consistency: "primary", now: fixture.now + 20 * 60_000 });
    expect(late.locks[0].waiters).toEqual([]);
  });

  it("FencedLock: the token counter is the fencing token", () => {
    const { byKey, fixture } = decode("redisson-fencedlock.json");
    const l = byKey.get("ledger:append")!;
    expect(l.format).toBe("redisson.fenced");
    const token = fixture.entries.find((e) => e.key.startsWith("redisson_lock_token:"))!.value as string;
    expect(l.fencingToken).toBe(token);
  });

  it("ReadWriteLock: readers as holders, timeout keys as related; writer mode", () => {
    const read = decode("redisson-rwlock-read.json").byKey.get("catalog:prices")!;
    expect(read.format).toBe("redisson.rwlock");
    expect(read.kind).toBe("rwlock");
    expect(read.holders).toHaveLength(2);
    expect(read.holders.every((h) => h.owner?.includes("(reader)"))).toBe(true);
    expect(read.relatedKeys).toHaveLength(2);
    expect(decodeFence(fenceOf(read)).h.ch).toBe("redisson_rwlock:{catalog:prices}");
    const write = decode("redisson-rwlock-write.json").byKey.get("catalog:stock")!;
    expect(write.holders[0].id).toMatch(/:write$/);
    expect(write.holders[0].owner).toContain("(writer)");
  });

  it("a released reader's lingering timeout key is not shown as the current holder's", () => {
    const { fixture, entries } = loadFixture("redisson-rwlock-read.json");
    const hash = entries.find((e) => e.key === "catalog:prices")!;
    const [kept] = hash.hash!.filter(([f]) => f !== "mode");
    hash.hash = hash.hash!.filter(([f]) => f === "mode" || f === kept[0]);
    const rec = decodeRedis(entries, { connection: "c1", consistency: "primary", now: fixture.now }).locks[0];
    expect(rec.holders.map((h) => h.id)).toEqual([kept[0]]);
    expect(rec.relatedKeys).toEqual([`{catalog:prices}:${kept[0]}:rwlock_timeout:1`]);
  });

  it("PermitExpirableSemaphore: raw 16-byte permit ids as holders, free permits counted", () => {
    const { locks, byKey } = decode("redisson-permit-semaphore.json");
    expect(locks).toHaveLength(1);
    const l = byKey.get("api:quota")!;
    expect(l.format).toBe("redisson.permit-semaphore");
    expect(l.kind).toBe("semaphore");
    expect(l.permitsFree).toBe(1);
    expect(l.holders).toHaveLength(2);
    expect(l.holders.every((h) => /^[0-9a-f]{32}$/.test(h.id))).toBe(true);
    // one permit was taken with a lease time, one without
    expect(l.holders.filter((h) => h.expiresAt).length).toBe(1);
    expect(l.warnings).not.toContain("no-expiry");
    expect(decodeFence(fenceOf(l)).h.t).toBe("none");
  });

  it("the whole Redisson capture decodes with no unknowns; unlock latches are not locks", () => {
    const { locks, problems } = decode("redisson-all.json");
    expect(problems).toEqual([]);
    expect(locks.map((l) => l.format).sort()).toEqual(
      ["redisson.fair", "redisson.fenced", "redisson.lock", "redisson.permit-semaphore", "redisson.rwlock", "redisson.rwlock", "redisson.semaphore"].sort(),
    );
    const after = decode("redisson-after-release.json");
    expect(after.locks.some((l) => l.key.startsWith("redisson_unlock_latch"))).toBe(false);
    expect(after.problems).toEqual([]);
  });
});

describe("plain token layouts captured from the real libraries", () => {
  it("node-redlock: 32-hex token, one record per resource, same token", () => {
    const { locks } = decode("node-redlock-all.json");
    expect(locks).toHaveLength(3);
    for (const l of locks) {
      expect(l.format).toBe("redis.token");
      expect(l.library).toBe("node-redlock");
      expect(l.holders[0].id).toMatch(/^[0-9a-f]{32}$/);
      expect(l.warnings).toEqual([]);
    }
    const multi = locks.filter((l) => l.key.includes("multi"));
    expect(multi[0].holders[0].id).toBe(multi[1].holders[0].id);
  });

  it("go-redsync: 24-char base64 token", () => {
    const { locks } = decode("redsync-all.json");
    expect(locks.length).toBeGreaterThan(0);
    for (const l of locks) expect(l.library).toBe("go-redsync");
  });

  it("python-redis-lock: lock:<name>, expire=None has no TTL and is flagged", () => {
    const { byKey } = decode("python-redis-lock-all.json");
    const timed = byKey.get("lock:capture:prl-expire60")!;
    expect(timed.format).toBe("redis.python-redis-lock");
    expect(timed.name).toBe("capture:prl-expire60");
    expect(timed.warnings).toEqual([]);
    const forever = byKey.get("lock:capture:prl-noexpire")!;
    expect(forever.ttlMs).toBeNull();
    expect(forever.ttlSource).toBe("none");
    expect(forever.warnings).toContain("no-expiry");
  });

  it("python-redis-lock signal lists alone are not locks", () => {
    const { locks, problems } = decode("python-redis-lock-after-release.json");
    expect(locks).toEqual([]);
    expect(problems).toEqual([]);
  });
});

function entry(partial: Partial<RedisEntry> & { key: string }): RedisEntry {
  return { type: "string", pttl: 10_000, size: 0, truncated: false, ...partial };
}

describe("bad input and look-alikes", () => {
  const ctx = { connection: "c1", consistency: "primary", now: 1_700_000_000_000, previews: true };

  it("flags constant tokens and missing expiry; ShedLock values name host and time", () => {
    const { locks } = decodeRedis(
      [
        entry({ key: "lock:report", value: Buffer.from("1"), pttl: -1 }),
        entry({ key: "job-lock:default:nightly", value: Buffer.from("ADDED:2026-11-21T10:00:00.123Z@web-3:0b6a5d4e-1111-2222-3333-444455556666") }),
      ],
      ctx,
    );
    const [constant, shed] = ["lock:report", "job-lock:default:nightly"].map((k) => locks.find((l) => l.key === k)!);
    expect(constant.warnings).toEqual(["no-expiry", "non-unique-token", "integer-value"]);
    expect(shed.format).toBe("redis.shedlock");
    expect(shed.holders[0].owner).toBe("web-3");
    expect(shed.holders[0].since).toBe("2026-11-21T10:00:00.123Z");
  });

  it("a JSON token value is read as its telling fields; the value stays the holder id", () => {
    const value = '{"owner":"billing-worker-2","pid":4242,"token":"7d1c0000"}';
    const { locks } = decodeRedis([entry({ key: "lock:json", value: Buffer.from(value) })], ctx);
    expect(locks[0].holders[0]).toMatchObject({ id: value, owner: "owner billing-worker-2 · pid 4242" });
  });

  it("wrong types and odd hashes become unknown records with a problem, never release", () => {
    const { locks, problems } = decodeRedis(
      [
        entry({ key: "lock:list", type: "list", list: [Buffer.from("a")] }),
        entry({ key: "lock:hash", type: "hash", hash: [["owner", Buffer.from("me")]] }),
        entry({ key: "lock:proto", type: "hash", hash: [["__proto__", Buffer.from("{}")]] }),
      ],
      ctx,
    );
    expect(locks.map((l) => [l.key, l.state, l.warnings[0]])).toEqual([
      ["lock:list", "unknown", "wrong-type"],
      ["lock:hash", "unknown", "unrecognised-hash"],
      ["lock:proto", "unknown", "unrecognised-hash"],
    ]);
    expect(problems.map((p) => p.code).sort()).toEqual(["unrecognised-hash", "unrecognised-hash", "wrong-type"]);
    for (const l of locks) expect(decodeFence(fenceOf(l)).h.t).toBe("none");
  });

  it("binary and truncated values preview as hex and cannot be released exactly", () => {
    const bin = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]);
    const { locks } = decodeRedis(
      [entry({ key: "lock:bin", value: bin, size: bin.length }), entry({ key: "lock:huge", value: Buffer.alloc(64, 0x61), size: 10_000_000, truncated: true })],
      ctx,
    );
    expect(locks[0].raw?.[0].encoding).toBe("hex");
    expect(locks[0].raw?.[0].preview).toBe("ff fe 00 41 c3");
    expect(decodeFence(fenceOf(locks[0])).h).toEqual({ t: "string", d: createHash("sha1").update(bin).digest("hex") });
    expect(locks[1].warnings).toContain("value-too-large");
    expect(decodeFence(fenceOf(locks[1])).h.t).toBe("none");
    expect(locks[1].raw?.[0].truncated).toBe(true);
  });

  it("control characters in keys and values are escaped in previews", () => {
    const { locks } = decodeRedis([entry({ key: "lock:\u0007bell", value: Buffer.from("tok\u001b[31mred") })], ctx);
    expect(locks[0].raw?.[0].preview).toBe("tok\\x1b[31mred");
    expect(locks[0].holders[0].id).toBe("tok\\x1b[31mred");
  });
});

describe("decoding while pages stream in", () => {
  // Every captured layout at once, plus a python-redis-lock whose signal list and a permit
  // semaphore whose timeout set arrive in other pages than their lock.
  const now = 1_700_000_000_000;
  const captured = readdirSync(path.join(__dirname, "..", "testdata", "redis")).flatMap((f) => loadFixture(f).entries);
  const all: RedisEntry[] = [
    // Several fixtures capture the same key at different moments: one of each.
    ...new Map(captured.map((e) => [e.key, e])).values(),
    entry({ key: "lock:nightly", value: Buffer.from("abcdefghijklmnopqrstuvwx") }),
    entry({ key: "lock-signal:nightly", type: "list", list: [Buffer.from("1")] }),
    entry({ key: "api:quota:semaphore", value: Buffer.from("3"), pttl: -1 }),
    entry({ key: "{api:quota:semaphore}:timeout", type: "zset", zset: [[Buffer.alloc(16, 1), now + 60_000]] }),
  ];
  // Related keys come in read order; the set is what counts.
  const byKey = (r: ReturnType<typeof decodeRedis>) =>
    JSON.stringify([r.locks.map((l) => [l.key, { ...l, relatedKeys: l.relatedKeys?.slice().sort() }]).sort(), r.problems.map((p) => p.key).sort()]);

  it("gives the same locks whatever the page boundaries and page order", () => {
    const ctx = { connection: "c1", consistency: "primary", now };
    const whole = decodeRedis(all, ctx);
    expect(whole.locks.find((l) => l.key === "lock:nightly")?.relatedKeys).toEqual(["lock-signal:nightly"]);
    expect(whole.locks.find((l) => l.key === "api:quota:semaphore")?.format).toBe("redisson.permit-semaphore");
    for (const order of [all, [...all].reverse()]) {
      for (const size of [1, 2, 7]) {
        const d = new RedisDecoder(ctx);
        for (let i = 0; i < order.length; i += size) d.push(order.slice(i, i + size));
        expect(byKey(d.finish())).toBe(byKey(whole));
      }
    }
  });
});
