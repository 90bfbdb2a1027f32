import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { WaitGraph } from "./graph";

/** A lock held by `holders` with `waiters` queued (owner keys); "-" prefix = no identity. */
function lock(key: string, holders: string[], waiters: string[] = [], kind: LockRecord["kind"] = "mutex"): LockRecord {
  const party = (o: string, i: number) => (o.startsWith("-") ? { id: `${o}-${i}` } : { id: `${o}-${i}`, ownerKey: o, owner: `client ${o}` });
  return {
    connection: "c",
    key,
    name: key,
    format: "memory.mutex",
    kind,
    state: holders.length ? "held" : "free",
    holders: holders.map(party),
    waiters: waiters.map((o, i) => ({ ...party(o, i), position: i + 1, since: "2026-01-01T00:00:00.000Z" })),
    ttlMs: null,
    ttlSource: "none",
    holding: {},
    observedAt: "2026-01-01T00:00:00.000Z",
    consistency: "",
    warnings: [],
  };
}

function feed(g: WaitGraph, ...recs: LockRecord[]): string[] {
  return recs.flatMap((r) => g.update(r.key, r));
}

describe("WaitGraph", () => {
  it("a two-party cycle is a deadlock on both locks, as one cycle of locks and owners", () => {
    const g = new WaitGraph();
    expect(feed(g, lock("a", ["A"]), lock("b", ["B"]))).toEqual([]);
    expect(feed(g, lock("a", ["A"], ["B"]))).toEqual([]);
    expect(feed(g, lock("b", ["B"], ["A"])).sort()).toEqual(["a", "b"]);
    expect(g.isDeadlocked("a") && g.isDeadlocked("b")).toBe(true);
    expect(g.cycles()).toEqual([{ owners: ["A", "B"], locks: ["b", "a"] }]);
    expect(g.edges().total).toBe(2);
  });

  it("keeps no entry for a lock without identified owners, and links it once one appears", () => {
    const g = new WaitGraph();
    feed(g, lock("plain", ["-x"]), lock("b", ["B"], ["A"]));
    expect(g.lock("plain")).toBeUndefined();
    expect(g.holdsOf("B")).toEqual(new Set(["b"]));
    // The same key later held by A with B queued: a cycle with b.
    expect(feed(g, lock("plain", ["A"], ["B"])).sort()).toEqual(["b", "plain"]);
    expect(g.lock("plain")?.holders).toEqual(["A"]);
    // Back to no identity: its edges go, and so does the entry.
    expect(feed(g, lock("plain", ["-y"])).sort()).toEqual(["b", "plain"]);
    expect(g.lock("plain")).toBeUndefined();
    expect(g.holdsOf("A")).toEqual(new Set());
  });

  it("locks of one holder owner share one holder list, which goes when the owner holds nothing", () => {
    const g = new WaitGraph();
    feed(g, lock("a", ["S"]), lock("b", ["S"]), lock("c", ["S", "T"], ["U"]));
    expect(g.lock("a")!.holders).toBe(g.lock("b")!.holders);
    expect(g.lock("c")!.holders).toEqual(["S", "T"]);
    const lists = (g as unknown as { ownerLists: Map<string, readonly string[]> }).ownerLists;
    expect([...lists.keys()]).toEqual(["S"]);
    // A shared list is frozen: an edit through one lock cannot change the other's holders.
    expect(() => (g.lock("a")!.holders as string[]).push("X")).toThrow();
    feed(g, lock("a", ["-x"]), lock("b", ["T"]), lock("c", ["T"]));
    expect(g.lock("b")!.holders).toBe(g.lock("c")!.holders);
    expect([...lists.keys()]).toEqual(["T"]);
  });

  it("a chain is no deadlock; a three-party cycle is", () => {
    const g = new WaitGraph();
    feed(g, lock("a", ["A"], ["B"]), lock("b", ["B"], ["C"]), lock("c", ["C"]));
    expect(g.deadlockedLocks()).toEqual([]);
    expect(g.cycles()).toEqual([]);
    expect(feed(g, lock("c", ["C"], ["A"])).sort()).toEqual(["a", "b", "c"]);
    expect(g.cycles()).toEqual([{ owners: ["A", "C", "B"], locks: ["c", "b", "a"] }]);
  });

  it("a cycle that breaks (a holder released, a waiter gave up) clears every lock on it", () => {
    const g = new WaitGraph();
    feed(g, lock("a", ["A"], ["B"]), lock("b", ["B"], ["A"]));
    // Force-release a: B takes it; A still waits for b, now held by B: a chain.
    expect(feed(g, lock("a", ["B"])).sort()).toEqual(["a", "b"]);
    expect(g.deadlockedLocks()).toEqual([]);
    // And a lock that disappears altogether.
    feed(g, lock("a", ["A"], ["B"]), lock("b", ["B"], ["A"]));
    expect(g.update("b", null).sort()).toEqual(["a", "b"]);
  });

  it("a lock outside the cycle that only waits on it is not a deadlock of its own", () => {
    const g = new WaitGraph();
    feed(g, lock("a", ["A"], ["B"]), lock("b", ["B"], ["A"]), lock("x", ["A"], ["X"]));
    expect(g.deadlockedLocks().sort()).toEqual(["a", "b"]);
  });

  it("semaphores: a waiter is stuck only if every holder is; a permit held outside the cycle can still free it", () => {
    const g = new WaitGraph();
    // A holds a, waits for sem (held by B and C); B waits for a. C waits for nothing: it may let go.
    feed(g, lock("a", ["A"], ["B"]), lock("sem", ["B", "C"], ["A"], "semaphore"));
    expect(g.deadlockedLocks()).toEqual([]);
    // C now waits for a too: every holder of sem is stuck behind A.
    expect(feed(g, lock("a", ["A"], ["B", "C"])).sort()).toEqual(["a", "sem"]);
  });

  it("holders and waiters without identity are not in the graph, and are counted", () => {
    const g = new WaitGraph();
    feed(g, lock("t", ["-token"], ["-other"]), lock("a", ["A"], ["-x"]));
    expect(g.edges().total).toBe(0);
    expect(g.unidentifiedCount()).toBe(2);
  });

  it("a waiter whose owner holds the same lock (another thread of one session) waits on no one: no self-loop deadlock (audit: Curator threads)", () => {
    const g = new WaitGraph();
    expect(feed(g, lock("self", ["session:S"], ["session:S"]))).toEqual([]);
    expect(g.isDeadlocked("self")).toBe(false);
    expect(g.cycles()).toEqual([]);
    expect(g.edges().total).toBe(0);
    // The same lock with another owner queued too: only that owner waits.
    feed(g, lock("self", ["session:S"], ["session:S", "session:R"]));
    expect(g.edges().edges.map((e) => [e.waiter, e.holder])).toEqual([["session:R", "session:S"]]);
  });

  it("an election's candidates wait on nobody: a leader queued for a lock a follower holds is no deadlock (audit: LeaderLatch, Campaign)", () => {
    const g = new WaitGraph();
    // S1 leads the election, S2 is a candidate (its client goes on); S2 holds L and S1 waits for L.
    expect(feed(g, lock("leader", ["lease:S1"], ["lease:S2"], "election"), lock("L", ["lease:S2"], ["lease:S1"]))).toEqual([]);
    expect(g.isDeadlocked("L") || g.isDeadlocked("leader")).toBe(false);
    expect(g.edges().edges.map((e) => e.lock)).toEqual(["L"]);
    expect(g.unidentifiedCount()).toBe(0);
  });

  it("a lock whose waiters the store only counts (Redisson's blocked clients) is counted as not in the graph", () => {
    const g = new WaitGraph();
    const counted = { ...lock("orders:a", ["redisson:c1:1"]), anonymousWaiters: { count: 1, source: "PUBSUB NUMSUB", since: "2026-01-01T00:00:00.000Z" } };
    feed(g, counted, lock("orders:b", ["redisson:c2:1"]));
    expect(g.unidentifiedCount()).toBe(1);
    feed(g, lock("orders:a", ["redisson:c1:1"]));
    expect(g.unidentifiedCount()).toBe(0);
  });

  it("tells what an owner holds and waits for", () => {
    const g = new WaitGraph();
    feed(g, lock("a", ["A"], ["B"]), lock("b", ["B"]), lock("c", ["B"]));
    expect([...g.holdsOf("B")].sort()).toEqual(["b", "c"]);
    expect([...g.waitsOf("B")]).toEqual(["a"]);
    expect(g.party("B")?.owner).toBe("client B");
  });

  it("incremental updates agree with a graph built from scratch (random waits, 2,000 steps)", () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const owners = Array.from({ length: 12 }, (_, i) => `o${i}`);
    const keys = Array.from({ length: 15 }, (_, i) => `l${i}`);
    const current = new Map<string, LockRecord>();
    const g = new WaitGraph();
    const dead = new Set<string>();
    for (let step = 0; step < 2_000; step++) {
      const key = keys[rnd(keys.length)];
      let rec: LockRecord | null = null;
      if (rnd(5) > 0) {
        const sem = rnd(4) === 0;
        const holders = [...new Set(Array.from({ length: sem ? 1 + rnd(3) : 1 }, () => owners[rnd(owners.length)]))];
        const waiters = [...new Set(Array.from({ length: rnd(3) }, () => owners[rnd(owners.length)]))];
        rec = lock(key, holders, waiters, sem ? "semaphore" : "mutex");
      }
      for (const k of g.update(key, rec)) {
        if (g.isDeadlocked(k)) dead.add(k);
        else dead.delete(k);
      }
      if (rec) current.set(key, rec);
      else current.delete(key);
      const fresh = new WaitGraph();
      for (const r of current.values()) fresh.update(r.key, r);
      expect(new Set(g.deadlockedLocks()), `step ${step}`).toEqual(new Set(fresh.deadlockedLocks()));
      // The changes reported are exactly the flags that moved.
      expect(dead).toEqual(new Set(g.deadlockedLocks()));
    }
  });

  it("at 100,000 locks an update visits only the waits it can reach", () => {
    const g = new WaitGraph();
    for (let i = 0; i < 100_000; i++) g.update(`k${i}`, lock(`k${i}`, [`o${i}`]));
    // A chain of 10: o0 waits for k1 (o1), o1 for k2, ... o9 holds k9.
    for (let i = 0; i < 9; i++) g.update(`k${i + 1}`, lock(`k${i + 1}`, [`o${i + 1}`], [`o${i}`]));
    g.visited = 0;
    g.update("k50000", lock("k50000", [`o50000`])); // uncontended: no search at all
    expect(g.visited).toBe(0);
    g.update("k5", lock("k5", ["o5"], ["o4"])); // same edges
    expect(g.visited).toBe(0);
    g.update("k9", lock("k9", ["o9"], ["o8", "o70000"])); // a new waiter joins the chain's tail
    expect(g.visited).toBeLessThanOrEqual(4);
    expect(g.update("k0", lock("k0", ["o0"], ["o9"])).length).toBe(10); // closes the chain: a 10-lock deadlock
    expect(g.visited).toBeLessThanOrEqual(4 + 10);
  });

  it("owners queued in many locks (ZooKeeper sessions each waiting in 10k lock dirs) cost per distinct owner, not per wait", () => {
    // 20k locks held by s0, each with the same nine sessions queued: every update visits the
    // ten owners, and each visit must not walk an owner's 20k waits (that made it quadratic:
    // ~45 s of one core for 100k ZooKeeper nodes in the product, the event loop blocked).
    const g = new WaitGraph();
    const queue = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"];
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) g.update(`/locks/d${i}`, lock(`/locks/d${i}`, ["s0"], queue));
    const ms = performance.now() - started;
    expect(ms, `${ms.toFixed(0)} ms for 20k updates`).toBeLessThan(2_000);
    expect(g.cycles()).toEqual([]);
    // s0 now waits in the last one's queue too: every lock is on the cycle.
    const n = g.update("/locks/d0", lock("/locks/d0", ["s1"], ["s0", ...queue.slice(1)]));
    expect(n.length).toBeGreaterThan(0);
    expect(g.isDeadlocked("/locks/d1")).toBe(true);
  });
});
