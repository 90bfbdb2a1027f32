// The etcd decoder over fixtures captured from the real libraries (scripts/capture/etcd), plus
// hand-made entries for the edge cases no library writes on purpose.

import { describe, expect, it } from "vitest";
import { decodeEtcd, decodeStructure, applyLeases, holderKeyOf, leaseHex, type EtcdEntry, type LeaseInfo } from ".";
import { loadEtcdFixture } from "../../../test/support/fixtures/etcd";
import { decodeFence, fenceOf } from "../../fence";
import { lockStatus } from "../../status";
import type { LockRecord } from "../../model";

function decodeFixture(name: string) {
  const { fixture, entries, leases } = loadEtcdFixture(name);
  const res = decodeEtcd(entries, leases, { connection: "e1", consistency: "linearizable", now: fixture.now });
  const byKey = new Map(res.locks.map((l) => [l.key, l]));
  const lock = (key: string): LockRecord => {
    const l = byKey.get(key);
    if (!l) throw new Error(`no record ${key}; have ${[...byKey.keys()].join(", ")}`);
    return l;
  };
  return { fixture, entries, leases, res, lock };
}

const suffix = (key: string) => key.slice(key.lastIndexOf("/") + 1);

describe("etcdctl lock (etcd 3.4 etcdctl, --ttl=10): holder + 2 waiters", () => {
  const { fixture, entries, res, lock } = decodeFixture("etcdctl-lock.json");
  const l = lock("locks/etcdctl-job/");

  it("is one etcd.mutex named by its prefix, with the holder etcdctl printed", () => {
    expect(res.locks).toHaveLength(1);
    expect(res.problems).toEqual([]);
    expect(l).toMatchObject({ name: "locks/etcdctl-job", format: "etcd.mutex", kind: "mutex", state: "held", ttlSource: "lease" });
    expect(l.holders[0].id).toBe(suffix(fixture.notes!.holderKey as string));
  });

  it("orders the waiters by create_revision and takes the holder's create_revision as fencing token", () => {
    const sorted = [...entries].sort((a, b) => Number(a.createRevision) - Number(b.createRevision));
    expect(l.fencingToken).toBe(sorted[0].createRevision);
    expect(l.waiters.map((w) => [w.position, w.id])).toEqual([
      [1, suffix(sorted[1].key)],
      [2, suffix(sorted[2].key)],
    ]);
  });

  it("shows the lease TTL LeaseTimeToLive reported, the granted TTL and the attached keys", () => {
    const h = l.holders[0];
    expect(h.lease).toMatchObject({ id: h.id, grantedTtlMs: 10_000, keys: [`locks/etcdctl-job/${h.id}`] });
    expect(l.ttlMs).toBe(h.lease!.ttlMs);
    expect(l.ttlMs).toBeGreaterThan(5_000);
    expect(lockStatus(l)).toBe("contended");
  });

  it("fences the holder key by create and mod revision and lease", () => {
    const f = decodeFence(fenceOf(l));
    expect(f).toMatchObject({ c: "e1", k: "locks/etcdctl-job/", f: "etcd.mutex" });
    expect(f.h).toMatchObject({ t: "kv", cr: l.fencingToken, mr: l.fencingToken });
    expect(holderKeyOf(f.k, f.f, f.h)).toBe(fixture.notes!.holderKey); // derived: k + lease hex
    expect(leaseHex(f.h.l as string)).toBe(l.holders[0].id);
  });
});

describe("etcdctl elect: leader value shown", () => {
  const { fixture, lock } = decodeFixture("etcdctl-elect.json");
  it("is an etcd.election whose holder is the leader, with its proclaimed value", () => {
    const l = lock("election-cli/web/");
    expect(l).toMatchObject({ format: "etcd.election", kind: "election" });
    expect(l.holders[0]).toMatchObject({ id: suffix(fixture.notes!.leaderKey as string), owner: "alpha" });
    expect(l.waiters).toEqual([expect.objectContaining({ position: 1, owner: "beta" })]);
  });
});

describe("Go concurrency.Mutex (client v3.5): holder + waiter", () => {
  const { fixture, lock } = decodeFixture("go-mutex.json");
  const notes = fixture.notes as { holder: { lease: string; held: string }; waiterLease: string };
  it("matches what the Go program said it holds", () => {
    const l = lock("locks/go-job/");
    const [key, rev] = notes.holder.held.split(" ");
    expect(l.format).toBe("etcd.mutex");
    expect(l.holders[0].id).toBe(notes.holder.lease);
    expect(l.relatedKeys?.[0]).toBe(key);
    // Mutex.Header().Revision when taken at once is the key's create_revision.
    expect(l.fencingToken).toBe(rev);
    expect(l.waiters.map((w) => w.id)).toEqual([notes.waiterLease]);
    expect(l.holders[0].lease?.grantedTtlMs).toBe(60_000); // concurrency's default session TTL
  });
});

describe("Go concurrency.Election", () => {
  const { fixture, lock } = decodeFixture("go-election.json");
  it("shows leader node-a and candidate node-b", () => {
    const l = lock("election-go/leader/");
    const notes = fixture.notes as { leader: { lease: string } };
    expect(l).toMatchObject({ format: "etcd.election", kind: "election" });
    expect(l.holders[0]).toMatchObject({ id: notes.leader.lease, owner: "node-a" });
    expect(l.waiters.map((w) => w.owner)).toEqual(["node-b"]);
  });
});

describe("one Go session holding two mutexes and an election (blast radius)", () => {
  const { fixture, res } = decodeFixture("go-shared-lease.json");
  it("gives all three locks the same holder lease, listing every key on it", () => {
    expect(res.locks.map((l) => [l.key, l.format]).sort()).toEqual([
      ["election-go/billing/", "etcd.election"],
      ["locks/orders/", "etcd.mutex"],
      ["locks/payments/", "etcd.mutex"],
    ]);
    for (const l of res.locks) {
      expect(l.holders[0].id).toBe(fixture.notes!.lease);
      expect(l.holders[0].lease?.keys).toHaveLength(3);
    }
  });
});

describe("the server's v3lock API on caller leases", () => {
  const { fixture, lock } = decodeFixture("v3lock-api.json");
  it("is the Mutex layout: holder is the key /v3/lock/lock returned, the blocked caller waits", () => {
    const l = lock("locks/api-job/");
    expect(l.format).toBe("etcd.mutex");
    expect(l.relatedKeys?.[0]).toBe(fixture.notes!.holderKey);
    expect(l.waiters).toHaveLength(1);
  });
});

describe("npm etcd3 1.1.2 Lock and Election", () => {
  const { fixture, lock } = decodeFixture("etcd3js.json");
  const notes = fixture.notes as { lockLease: string; leaderKey: string };
  it("reads the Lock as one key with no queue, its holder known only by kv.lease", () => {
    const l = lock("locks/js-single");
    expect(l).toMatchObject({ format: "etcd3js.lock", name: "locks/js-single", waiters: [] });
    expect(l.holders[0].id).toBe(leaseHex(notes.lockLease));
    expect(l.holders[0].lease?.grantedTtlMs).toBe(30_000);
    // Its fencing token is the key's create_revision, as for the other layouts.
    expect(l.fencingToken).toBe(fixture.entries.find((e) => e.key === "locks/js-single")?.createRevision);
    expect(l.fencingToken).toMatch(/^[1-9]\d*$/);
  });
  it("reads the Election's decimal lease suffix: leader node-1, candidate node-2", () => {
    const l = lock("election/web-js/");
    expect(l).toMatchObject({ format: "etcd3js.election", kind: "election", name: "election/web-js" });
    expect(leaseHex(suffix(notes.leaderKey))).toBe(l.holders[0].id);
    expect(l.holders[0].owner).toBe("node-1");
    expect(l.waiters.map((w) => w.owner)).toEqual(["node-2"]);
  });
});

describe("look-alike keys and an expired lease", () => {
  const { res, lock } = decodeFixture("lookalikes.json");
  it("keeps a foreign key in the Mutex queue it blocks, and names it", () => {
    const l = lock("locks/mixed/");
    expect(l.format).toBe("etcd.mutex");
    expect(l.warnings).toContain("foreign-key");
    expect(l.waiters[0]).toMatchObject({ id: "not-a-lease", owner: expect.stringContaining("not a lock key") });
    expect(res.problems).toContainEqual(expect.objectContaining({ key: "locks/mixed/not-a-lease", code: "foreign-key" }));
  });
  it("reports keys without a lock shape as unknown records that cannot be released", () => {
    for (const [key, code] of [
      ["locks/plain-no-lease", "no-lease"],
      ["locks/registration/web-1", "not-a-lock-layout"],
    ]) {
      const l = lock(key);
      expect(l).toMatchObject({ format: "etcd.unknown", state: "unknown", warnings: [code] });
      expect(decodeFence(fenceOf(l)).h.t).toBe("none");
      expect(res.problems).toContainEqual(expect.objectContaining({ key, code }));
    }
  });
  it("marks a lease LeaseTimeToLive calls expired (TTL -1) as lease-expired, 0 ms left, stale", () => {
    const l = lock("locks/expiring-js-style");
    expect(l.format).toBe("etcd3js.lock");
    expect(l.ttlMs).toBe(0);
    expect(l.warnings).toContain("lease-expired");
    expect(lockStatus(l)).toBe("stale");
  });
});

// ---- hand-made entries ------------------------------------------------------------------

let rev = 100;
function kv(key: string, lease: string, value = "", createRevision = String(rev++)): EtcdEntry {
  return { key, value: Buffer.from(value), createRevision, modRevision: createRevision, version: "1", lease };
}
const ctx = { connection: "e1", consistency: "linearizable", now: 0 };
const lease = (id: string, ttlSec = 50, grantedSec = 60, extra: Partial<LeaseInfo> = {}): [string, LeaseInfo] => [id, { id, ttlSec, grantedSec, ...extra }];

describe("edge cases", () => {
  it("prints negative int64 lease ids as Go's %x does", () => {
    expect(leaseHex("-1")).toBe("-1");
    expect(leaseHex("-7588056016823894778")).toBe("-694e30be7a8dc2fa");
    const res = decodeEtcd([kv("locks/n/-694e30be7a8dc2fa", "-7588056016823894778")], new Map(), ctx);
    expect(res.locks[0]).toMatchObject({ key: "locks/n/", format: "etcd.mutex" });
  });

  it("does not take a hex-looking name that is not the key's own lease for a Mutex key", () => {
    const res = decodeEtcd([kv("locks/x/abc", "2748" /* = 0xabc */), kv("locks/y/abc", "2749")], new Map(), ctx);
    expect(res.locks.map((l) => [l.key, l.format]).sort()).toEqual([
      ["locks/x/", "etcd.mutex"],
      ["locks/y/abc", "etcd3js.lock"],
    ]);
  });

  it("a foreign key at the head of a queue is the effective holder, but not releasable", () => {
    const res = decodeEtcd([kv("locks/f/debris", "0", "x", "5"), kv("locks/f/1f", "31", "", "6")], new Map([lease("31")]), ctx);
    const l = res.locks.find((r) => r.key === "locks/f/")!;
    expect(l.holders[0]).toMatchObject({ id: "debris" });
    expect(l.warnings).toEqual(expect.arrayContaining(["foreign-holder", "no-expiry"]));
    expect(decodeFence(fenceOf(l)).h).toMatchObject({ t: "none", why: "foreign-holder" });
    expect(l.waiters[0]).toMatchObject({ id: "1f", position: 1 });
  });

  it("orders a nested Mutex's keys into the outer prefix's queue, as Go's range does", () => {
    const res = decodeEtcd([kv("locks/a/b/20", "32", "", "7"), kv("locks/a/21", "33", "", "8")], new Map(), ctx);
    const outer = res.locks.find((r) => r.key === "locks/a/")!;
    const inner = res.locks.find((r) => r.key === "locks/a/b/")!;
    expect(inner.holders[0].id).toBe("20");
    expect(outer.holders[0].id).toBe("b/20".split("/").pop());
    expect(res.problems).toContainEqual(expect.objectContaining({ key: "locks/a/b/20", code: "nested-lock-prefix" }));
  });

  it("flags not-renewed leases and leases whose TTL could not be read", () => {
    const entries = [kv("locks/r/22", "34"), kv("locks/u/23", "35")];
    const res = decodeEtcd(entries, new Map([lease("34", 20, 60, { notRenewed: true })]), ctx);
    const r = res.locks.find((l) => l.key === "locks/r/")!;
    const u = res.locks.find((l) => l.key === "locks/u/")!;
    expect(r.warnings).toContain("not-renewed");
    expect(lockStatus(r)).toBe("stale");
    expect(u.warnings).toContain("lease-ttl-unknown");
    expect(u.ttlMs).toBeNull();
  });

  it("applyLeases replaces lease facts instead of piling up warnings", () => {
    const s = decodeStructure([kv("locks/w/24", "36")], ctx);
    const once = applyLeases(s.locks[0], "36", new Map([lease("36", -1, 0)]));
    const twice = applyLeases(once, "36", new Map([lease("36", 40, 60)]));
    expect(once.warnings).toEqual(["lease-expired"]);
    expect(twice.warnings).toEqual([]);
    expect(twice.ttlMs).toBe(40_000);
  });

  it("never treats a binary key as a lock layout", () => {
    const res = decodeEtcd([kv("base64:/w==", "37", "v")], new Map(), ctx);
    expect(res.locks[0]).toMatchObject({ format: "etcd.unknown", state: "unknown" });
  });

  it("escapes control characters in election values", () => {
    const res = decodeEtcd([kv("e/26", "38", "a\u001b[31mb")], new Map(), ctx);
    expect(res.locks[0].holders[0].owner).toBe("a\\x1b[31mb");
  });

  // The bound is loose on purpose (a shared 2-core machine); a quadratic grouping takes minutes.
  it("decodes 100k single-holder locks without a quadratic blow-up", () => {
    const many = Array.from({ length: 100_000 }, (_, i) => kv(`locks/job-${i}/${(1000 + (i % 500)).toString(16)}`, String(1000 + (i % 500))));
    const t0 = performance.now();
    const res = decodeStructure(many, ctx);
    expect(res.locks).toHaveLength(100_000);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
