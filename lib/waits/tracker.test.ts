// The tracker through a real hub on the in-process store: a deadlock formed by real acquires
// reaches the hub's records (and so the table) as the "deadlock" warning, after the events
// that caused it; a force-release clears it from every lock of the cycle; a resync (a new hub)
// says it again.
import { afterEach, describe, expect, it } from "vitest";
import { Hub } from "../hub/hub";
import { EventBus, type SequencedEvent } from "../hub/bus";
import { MemoryAdapter } from "../stores/memory/adapter";
import { MemoryLockStore } from "../stores/memory/store";
import { waitFor } from "../../scripts/servers/process";
import { WaitTracker } from "./tracker";
import type { LockRecord } from "../model";

const until = (what: string, check: () => boolean) => waitFor(async () => check(), { timeoutMs: 5_000, intervalMs: 10, what });

describe("WaitTracker", () => {
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  function setup() {
    const store = new MemoryLockStore();
    const bus = new EventBus();
    const hubs = new Map<string, Hub>();
    const tracker = new WaitTracker(bus, {
      records: (id) => hubs.get(id)?.all(),
      annotate: (id, key, w) => hubs.get(id)?.setDerivedWarnings(key, w),
    }).start();
    const open = () => {
      const hub = new Hub("m", new MemoryAdapter("m", store), bus, { healthIntervalMs: 60_000 });
      hubs.set("m", hub);
      hub.start();
      stops.push(() => hub.stop());
      return hub;
    };
    stops.push(() => tracker.stop());
    return { store, bus, tracker, open };
  }

  it("marks both locks of a real cycle, clears them when one side is force-released, and says it again after a resync", async () => {
    const { store, bus, tracker, open } = setup();
    const events: SequencedEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const hub = open();
    await until("live", () => hub.statusEvent().mode === "live" && hub.reachable);
    store.acquire("a", { owner: "svc-1", holderId: "h1", ttlMs: null });
    store.acquire("b", { owner: "svc-2", holderId: "h2", ttlMs: null });
    store.acquire("b", { owner: "svc-1", holderId: "w1", ttlMs: null });
    await until("b contended", () => hub.get("b")?.waiters.length === 1);
    expect(hub.get("b")!.warnings).not.toContain("deadlock"); // a chain so far
    store.acquire("a", { owner: "svc-2", holderId: "w2", ttlMs: null });
    await until("both marked", () => !!hub.get("a")?.warnings.includes("deadlock") && !!hub.get("b")?.warnings.includes("deadlock"));
    expect(tracker.graph("m").cycles()).toEqual([{ owners: ["owner:svc-1", "owner:svc-2"], locks: ["b", "a"] }]);
    // The warning arrived after the upsert that closed the cycle, in its own upsert.
    const marked = events.findIndex((e) => e.type === "upsert" && e.data.lock.warnings.includes("deadlock"));
    const closing = events.findIndex((e) => e.type === "upsert" && e.data.lock.key === "a" && e.data.lock.waiters.length === 1);
    expect(closing).toBeGreaterThanOrEqual(0);
    expect(marked).toBeGreaterThan(closing);

    // A new hub (settings change): its first records carry the warning again.
    await hub.stop();
    const again = open();
    bus.publish({ type: "resync", connection: "m", data: { connection: "m" } });
    await until("marked after resync", () => !!again.get("a")?.warnings.includes("deadlock") && !!again.get("b")?.warnings.includes("deadlock"));

    // Force-release a (conditional on the holding): svc-2 takes it; svc-1 still waits for b.
    expect(store.releaseIf("a", "h1", 1)).toBe("released");
    await until(
      "cleared",
      () => again.get("a")?.holders[0].id === "w2" && !again.get("a")!.warnings.includes("deadlock") && !again.get("b")!.warnings.includes("deadlock"),
    );
    expect(tracker.graph("m").cycles()).toEqual([]);
  });

  it("rebuilds after a resync once the publishing call has returned, from the records as they are then (changes in between included)", async () => {
    const bus = new EventBus();
    const records = new Map<string, LockRecord>();
    const annotated: string[] = [];
    const tracker = new WaitTracker(bus, { records: () => records.values(), annotate: (_, key, w) => w.length && annotated.push(key) }).start();
    stops.push(() => tracker.stop());
    const lock = (key: string, holder: string, waiter?: string): LockRecord => ({
      connection: "m",
      key,
      name: key,
      format: "memory.mutex",
      kind: "mutex",
      state: "held",
      holders: [{ id: `h-${holder}`, owner: holder, ownerKey: `owner:${holder}` }],
      waiters: waiter ? [{ id: `w-${waiter}`, owner: waiter, ownerKey: `owner:${waiter}`, position: 1 }] : [],
      ttlMs: null,
      ttlSource: "none",
      holding: { t: "none" },
      observedAt: new Date().toISOString(),
      consistency: "x",
      warnings: [],
    });
    records.set("a", lock("a", "svc-1", "svc-2"));
    bus.publish({ type: "resync", connection: "m", data: { connection: "m" } });
    expect(tracker.graph("m").edges().total, "not rebuilt inside the hub's refresh").toBe(0);
    // Before the rebuild runs: b closes the cycle (its upsert is not applied on its own).
    records.set("b", lock("b", "svc-2", "svc-1"));
    bus.publish({ type: "upsert", connection: "m", data: { connection: "m", lock: records.get("b")! } });
    await until("rebuilt with both locks", () => tracker.graph("m").cycles().length === 1);
    expect(tracker.graph("m").cycles()[0].locks.sort()).toEqual(["a", "b"]);
    await until("both flagged", () => annotated.includes("a") && annotated.includes("b"));
  });
});
