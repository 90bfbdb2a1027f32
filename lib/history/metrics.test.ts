// GET /api/metrics' per-connection lock gauges (metricsText) through real hubs: they say what
// the overview's trend (hub.sample()) says, whatever a lock's state word. A deadlock turns the
// word of its locks into "stale", and waiters the store only counts (Redisson's subscribers,
// lib/hub/anon-waiters.ts) are not in `waiters`: neither may drop out of the gauges.
import { afterEach, describe, expect, it } from "vitest";
import { Hub } from "../hub/hub";
import { EventBus } from "../hub/bus";
import { MemoryAdapter } from "../stores/memory/adapter";
import { MemoryLockStore } from "../stores/memory/store";
import { MemoryConnectionSchema } from "../stores/memory/config";
import { WaitTracker } from "../waits/tracker";
import type { LockRecord } from "../model";
import { waitFor } from "../../scripts/servers/process";
import { ScriptedAdapter, scriptedLock } from "../../test/support/scripted-adapter";
import { metricsText } from "./api";

const until = (what: string, check: () => boolean) => waitFor(async () => check(), { timeoutMs: 5_000, intervalMs: 10, what });

/** The value of one per-connection gauge in the exposition. */
function gauge(text: string, name: string, connection: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{connection="${connection}",`));
  if (!line) throw new Error(`no ${name} for ${connection} in:\n${text}`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** The lock gauges of one connection. */
const gauges = (text: string, connection: string) => ({
  held: gauge(text, "lockdeck_locks_held", connection),
  stale: gauge(text, "lockdeck_locks_stale", connection),
  contended: gauge(text, "lockdeck_locks_contended", connection),
  waiters: gauge(text, "lockdeck_waiters", connection),
});

/** What metricsText reads of the registry: no history, these hubs. */
const registryOf = (hub: Hub) => ({
  history: null,
  connections: new Map([[hub.id, { config: MemoryConnectionSchema.parse({ id: hub.id, kind: "memory", workload: false }), hub }]]),
});

/** Scripted snapshots, with waiters the store only counts for the keys in `anonymous`. */
class CountingAdapter extends ScriptedAdapter {
  anonymous = new Map<string, number>();
  async anonymousWaiters(locks: LockRecord[]) {
    const counts = new Map<string, { count: number; source: string }>();
    for (const r of locks) {
      const n = this.anonymous.get(r.key);
      if (n) counts.set(r.key, { count: n, source: `PUBSUB NUMSUB redisson_lock__channel:{${r.key}}` });
    }
    return counts;
  }
}

describe("metricsText: contended locks and waiters", () => {
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  it("counts deadlocked locks (state word stale) that have waiters as contended, as the overview does", async () => {
    const store = new MemoryLockStore();
    const bus = new EventBus();
    const hub = new Hub("m", new MemoryAdapter("m", store), bus, { healthIntervalMs: 60_000 });
    const tracker = new WaitTracker(bus, {
      records: () => hub.all(),
      annotate: (_, key, w) => hub.setDerivedWarnings(key, w),
    }).start();
    hub.start();
    stops.push(
      () => tracker.stop(),
      () => hub.stop(),
    );
    await until("live", () => hub.statusEvent().mode === "live" && hub.reachable);
    // Leases with a TTL: only the deadlock makes a word "stale" (no TTL is itself a stale warning).
    const TTL = 60_000;
    // A real cycle: svc-1 holds a and waits for b, svc-2 holds b and waits for a; c is only held.
    store.acquire("a", { owner: "svc-1", holderId: "h1", ttlMs: TTL });
    store.acquire("b", { owner: "svc-2", holderId: "h2", ttlMs: TTL });
    store.acquire("c", { owner: "svc-3", holderId: "h3", ttlMs: TTL });
    store.acquire("b", { owner: "svc-1", holderId: "w1", ttlMs: TTL });
    store.acquire("a", { owner: "svc-2", holderId: "w2", ttlMs: TTL });
    await until("both marked", () => !!hub.get("a")?.warnings.includes("deadlock") && !!hub.get("b")?.warnings.includes("deadlock"));
    expect(hub.counts()).toMatchObject({ contended: 0, stale: 2 }); // the state words

    const text = metricsText(registryOf(hub));
    expect(gauges(text, "m")).toEqual({ held: 3, stale: 2, contended: 2, waiters: 2 });
    expect(hub.sample()).toMatchObject({ contended: 2, waiters: 2 });
  });

  it("counts the waiters a store only counts (Redisson) in lockdeck_waiters, and their locks as contended", async () => {
    const adapter = new CountingAdapter();
    const stale = { ...scriptedLock("y", "h2"), connection: "r", warnings: ["no-expiry"], ttlMs: null };
    const named = { ...scriptedLock("w", "h4"), connection: "r", waiters: [{ id: "n1", position: 1 }] };
    adapter.locks = [{ ...scriptedLock("x", "h1"), connection: "r" }, stale, { ...scriptedLock("z", "h3", { ttlMs: 60_000 }), connection: "r" }, named];
    adapter.anonymous = new Map([
      ["x", 2],
      ["y", 1],
      ["w", 1],
    ]);
    const hub = new Hub("r", adapter, new EventBus(), { healthIntervalMs: 60_000, waitersIntervalMs: 20 });
    hub.start();
    stops.push(() => hub.stop());
    await until(
      "counted",
      () => hub.get("x")?.anonymousWaiters?.count === 2 && hub.get("y")?.anonymousWaiters?.count === 1 && hub.get("w")?.anonymousWaiters?.count === 1,
    );
    expect(hub.counts()).toMatchObject({ contended: 2, stale: 1, held: 1 }); // the state words: x, w contended; y stale

    const text = metricsText(registryOf(hub));
    // Contended: x, y and w, not z. Waiters: x 2 + y 1 counted, w 1 named + 1 counted.
    expect(gauges(text, "r")).toEqual({ held: 4, stale: 1, contended: 3, waiters: 5 });
    expect(hub.sample()).toMatchObject({ contended: 3, waiters: 5 });
  });
});
