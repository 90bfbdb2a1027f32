import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LockRecord } from "../model";
import { lockStatus } from "../status";
import { MemoryAdapter } from "../stores/memory/adapter";
import { MemoryLockStore } from "../stores/memory/store";
import { T0 } from "../../test/support/clock";
import { DEMO_LOCKS } from "./catalogue";
import { startWorkload } from "./workload";
import { CHAIN, DEADLOCK_PAIR } from "./waits";
import { WaitGraph } from "../waits/graph";

const signal = new AbortController().signal;

/** A demo on fake timers: the store's default clock follows them. */
function demo(seed: number) {
  const store = new MemoryLockStore();
  store.start();
  const workload = startWorkload(store, { seed });
  const adapter = new MemoryAdapter("demo", store);
  return {
    store,
    workload,
    snapshot: async () => (await adapter.snapshot(signal)).locks,
    shutdown: () => {
      workload.stop();
      store.stop();
    },
  };
}

describe("startWorkload", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => void vi.useRealTimers());

  it("keeps ≥ 20 locks listed, several queued, some stale, TTLs moving", async () => {
    const { snapshot, shutdown } = demo(7);
    expect((await snapshot()).length).toBeGreaterThanOrEqual(20); // from the first instant
    await vi.advanceTimersByTimeAsync(5_000); // all workers have started

    const ttlsSeen = new Map<string, Set<number>>();
    const statusesSeen = new Set<string>();
    const warningsSeen = new Set<string>();
    let expiredHandovers = 0;
    let previous: LockRecord[] = [];
    for (let t = 0; t < 240; t++) {
      const locks = await snapshot();
      const statuses = locks.map(lockStatus);
      expect(locks.length).toBeGreaterThanOrEqual(20);
      expect(locks.filter((l) => l.waiters.length > 0).length).toBeGreaterThanOrEqual(3);
      expect(statuses.filter((s) => s === "stale").length).toBeGreaterThanOrEqual(3);
      for (const lock of locks) {
        expect(lock.waiters.length).toBeLessThanOrEqual(4);
        const key = `${lock.key} ${lock.fencingToken}`;
        if (lock.ttlMs !== null) ttlsSeen.set(key, (ttlsSeen.get(key) ?? new Set()).add(lock.ttlMs));
        lock.warnings.forEach((w) => warningsSeen.add(w));
        // A holding whose lease ran out was replaced by its head waiter.
        const before = previous.find((p) => p.key === lock.key);
        if (before?.warnings.includes("not-renewed") && before.waiters[0]?.id === lock.holders[0]?.id) expiredHandovers++;
      }
      statuses.forEach((s) => statusesSeen.add(s));
      previous = locks;
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect([...ttlsSeen.values()].filter((seen) => seen.size > 1).length).toBeGreaterThan(10);
    expect([...statusesSeen]).toEqual(expect.arrayContaining(["held", "contended", "stale"]));
    expect(warningsSeen).toEqual(new Set(["no-expiry", "not-renewed"]));
    expect(expiredHandovers).toBeGreaterThan(0);
    shutdown();
  });

  it("uses realistic names from the catalogue", async () => {
    const { snapshot, shutdown } = demo(1);
    await vi.advanceTimersByTimeAsync(5_000);
    const names = (await snapshot()).map((l) => l.name);
    expect(names).toEqual(expect.arrayContaining(["orders:payout", "billing/invoice-run", "report:nightly"]));
    expect(new Set(DEMO_LOCKS.map((l) => l.name)).size).toBeGreaterThanOrEqual(24);
    shutdown();
  });

  it("replays exactly with the same seed", async () => {
    const run = async (seed: number) => {
      vi.setSystemTime(T0);
      const { snapshot, shutdown } = demo(seed);
      await vi.advanceTimersByTimeAsync(90_000);
      const locks = await snapshot();
      shutdown();
      return JSON.stringify(locks);
    };
    const first = await run(3);
    expect(await run(3)).toBe(first);
    expect(await run(4)).not.toBe(first);
  });

  it("stop() clears its timers and withdraws its live workers, leaving dead holders", async () => {
    const { snapshot, shutdown } = demo(5);
    await vi.advanceTimersByTimeAsync(60_000);
    shutdown();
    expect(vi.getTimerCount()).toBe(0);
    const left = await snapshot();
    expect(left.every((l) => l.waiters.length === 0)).toBe(true);
    expect(
      left
        .filter((l) => l.warnings.includes("no-expiry"))
        .map((l) => l.key)
        .sort(),
    ).toEqual(["cache:warmup:eu-west-1", "migrations/schema", "report:nightly"]);
    // Once the dead holders' leases have run out, only the locks taken without expiry remain.
    await vi.advanceTimersByTimeAsync(120_000);
    expect((await snapshot()).map((l) => l.key).sort()).toEqual(["cache:warmup:eu-west-1", "migrations/schema", "report:nightly"]);
  });

  it("shows a deadlocked pair and a chain of six stages; a force-release ends the deadlock, which forms again later", async () => {
    const { store, snapshot, shutdown } = demo(2);
    const graphNow = async () => {
      const g = new WaitGraph();
      for (const l of await snapshot()) g.update(l.key, l);
      return g;
    };
    await vi.advanceTimersByTimeAsync(6_000);
    let g = await graphNow();
    expect(new Set(g.deadlockedLocks())).toEqual(new Set(DEADLOCK_PAIR.locks));
    expect(g.cycles()).toEqual([{ owners: DEADLOCK_PAIR.owners.map((o) => `owner:${o}`), locks: [DEADLOCK_PAIR.locks[1], DEADLOCK_PAIR.locks[0]] }]);
    const chainWaits = g.edges().edges.filter((e) => CHAIN.locks.includes(e.lock));
    expect(chainWaits.map((e) => e.lock).sort()).toEqual(CHAIN.locks.slice(1));
    // Still stuck a minute later: both sides keep renewing, nothing expires.
    await vi.advanceTimersByTimeAsync(60_000);
    g = await graphNow();
    expect(new Set(g.deadlockedLocks())).toEqual(new Set(DEADLOCK_PAIR.locks));
    // An operator force-releases one side: the deadlock is gone at once...
    const held = (await snapshot()).find((l) => l.key === DEADLOCK_PAIR.locks[0])!;
    expect(store.releaseIf(held.key, held.holders[0].id, Number(held.fencingToken))).toBe("released");
    expect((await graphNow()).deadlockedLocks()).toEqual([]);
    // ...and the pair deadlocks again after its pause.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(new Set((await graphNow()).deadlockedLocks())).toEqual(new Set(DEADLOCK_PAIR.locks));
    shutdown();
  });
});
