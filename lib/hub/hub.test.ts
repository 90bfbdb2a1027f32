// The hub's own contract, over a scripted adapter (adapters are tested against real stores).
import { describe, expect, it } from "vitest";
import { Hub } from "./hub";
import { EventBus, type SequencedEvent } from "./bus";
import type { LockRecord, LockSnapshot, StoreAdapter, StoreChange } from "../model";
import { waitFor } from "../../scripts/servers/process";

function rec(key: string, holder: string): LockRecord {
  return {
    connection: "c", key, name: key, format: "t", kind: "mutex", state: "held", holders: [{ id: holder }], waiters: [],
    ttlMs: 1000, ttlSource: "pttl", fence: `${key}=${holder}`, observedAt: new Date().toISOString(), consistency: "x", warnings: [],
  };
}

class ScriptedAdapter implements StoreAdapter {
  readonly kind = "memory" as const;
  readonly formats = ["t"];
  keyProblem = () => null;
  snapshots = 0;
  locks: LockRecord[] = [];
  fail = false;
  updateMode = () => ({ mode: "live" as const });
  async health() {
    return this.fail ? { status: "unreachable" as const, message: "down" } : { status: "ok" as const, message: "" };
  }
  async snapshot(): Promise<LockSnapshot> {
    this.snapshots++;
    if (this.fail) throw new Error("down");
    return { locks: this.locks, problems: [], observedAt: new Date().toISOString(), consistency: "x" };
  }
  async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    // A quiet feed: never yields, ends when aborted.
    await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
  }
  async forceRelease() {
    return { status: "gone" as const };
  }
  describeRelease() {
    return { modes: [], deletes: "", command: "", holderNotified: false, notes: [] };
  }
  async close() {}
}

describe("hub", () => {
  it("re-lists a quiet live feed on its resync interval, and publishes only what changed", async () => {
    const adapter = new ScriptedAdapter();
    adapter.locks = [rec("a", "h1"), rec("b", "h1")];
    const bus = new EventBus();
    const events: SequencedEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const hub = new Hub("c", adapter, bus, { resyncIntervalMs: 150, healthIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      adapter.locks = [rec("a", "h2")];
      await waitFor(async () => hub.get("b") === undefined && hub.get("a")?.holders[0].id === "h2", { timeoutMs: 2_000, what: "resync" });
      const changes = events.filter((e) => e.type === "upsert" || e.type === "remove").map((e) => [e.type, e.type === "upsert" ? e.data.lock.holders[0].id : e.data.key]);
      expect(changes).toEqual([["upsert", "h1"], ["upsert", "h1"], ["upsert", "h2"], ["remove", "b"]]);
      expect(hub.get("a")?.holders[0].sinceObserved).toBe(true);
    } finally {
      await hub.stop();
    }
  });

  it("keeps the last good snapshot when the store fails, marked stale with its age", async () => {
    const adapter = new ScriptedAdapter();
    adapter.locks = [rec("a", "h1")];
    const hub = new Hub("c", adapter, new EventBus(), { resyncIntervalMs: 100, healthIntervalMs: 50 });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      adapter.fail = true;
      await waitFor(async () => hub.statusEvent().status === "unreachable", { timeoutMs: 2_000, what: "unreachable" });
      expect(hub.get("a")).toBeDefined();
      expect(hub.statusEvent().stale).toBe(true);
      await waitFor(async () => (hub.statusEvent().staleAgeMs ?? 0) > 0, { timeoutMs: 2_000, what: "stale age" });
      adapter.fail = false;
      await waitFor(async () => hub.statusEvent().status === "ok" && !hub.statusEvent().stale, { timeoutMs: 3_000, what: "recovery" });
    } finally {
      await hub.stop();
    }
  });
});

describe("stale rules", () => {
  it("fire with time alone: held too long, waiter queued too long; published as upserts", async () => {
    const adapter = new ScriptedAdapter();
    const lock = rec("a", "h1");
    lock.waiters = [{ id: "w1", position: 1 }];
    adapter.locks = [lock, rec("b", "h2")];
    const bus = new EventBus();
    const events: SequencedEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const hub = new Hub("c", adapter, bus, {
      rules: { heldLongerThanMs: 150, waiterOlderThanMs: 150 },
      rulesIntervalMs: 50,
      healthIntervalMs: 60_000,
      resyncIntervalMs: 60_000,
    });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      expect(hub.get("a")!.warnings).toEqual([]);
      expect(hub.get("a")!.waiters[0].since).toBeDefined(); // first sighting, like holders
      await waitFor(async () => hub.get("a")!.warnings.length === 2, { timeoutMs: 3_000, what: "rules fire" });
      expect(hub.get("a")!.warnings).toEqual(["held-too-long", "waiter-too-long"]);
      expect(hub.get("b")!.warnings).toEqual(["held-too-long"]);
      expect(hub.counts().stale).toBe(2);
      expect(events.some((e) => e.type === "upsert" && e.data.lock.key === "a" && e.data.lock.warnings.includes("waiter-too-long"))).toBe(true);
    } finally {
      await hub.stop();
    }
  });
});
