// The hub's own contract, over a scripted adapter (adapters are tested against real stores).
import { describe, expect, it } from "vitest";
import { Hub } from "./hub";
import { EventBus, type SequencedEvent } from "./bus";
import type { LockRecord, LockSnapshot, StoreChange } from "../model";
import { waitFor } from "../../scripts/servers/process";
import { ScriptedAdapter, scriptedLock } from "../../test/support/scripted-adapter";

const rec = (key: string, holder: string) => scriptedLock(key, holder);

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
      const changes = events
        .filter((e) => e.type === "upsert" || e.type === "remove")
        .map((e) => [e.type, e.type === "upsert" ? e.data.lock.holders[0].id : e.data.key]);
      expect(changes).toEqual([
        ["upsert", "h1"],
        ["upsert", "h1"],
        ["upsert", "h2"],
        ["remove", "b"],
      ]);
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

/** A store that answers every request, but only after `latencyMs`; its health check gives up sooner. */
class SlowAdapter extends ScriptedAdapter {
  latencyMs = 80;
  checkTimeoutMs = 30;
  /** The late answers stop coming: they fail instead (a store that went from slow to gone). */
  gone = false;
  override async health() {
    const answer = new Promise<string | null>((r) => setTimeout(() => r(this.gone ? "connection lost" : null), this.latencyMs));
    return { status: "unreachable" as const, message: `timed out after ${this.checkTimeoutMs} ms`, late: answer };
  }
  override async snapshot(): Promise<LockSnapshot> {
    await new Promise((r) => setTimeout(r, this.latencyMs));
    if (this.gone) throw new Error("connection lost");
    return super.snapshot();
  }
}

describe("a slow store", () => {
  it("whose checks time out but are answered later stays 'slow' (degraded), through re-lists; once answers stop coming, it is unreachable", async () => {
    const adapter = new SlowAdapter();
    adapter.locks = [rec("a", "h1")];
    // Checks every 40 ms, each answered 80 ms later; re-lists (a successful read, "ok") every 150 ms.
    const hub = new Hub("c", adapter, new EventBus(), {
      healthIntervalMs: 40,
      resyncIntervalMs: 150,
      reads: { maxInFlight: 4, deadlineMs: 1_000, slowMs: 50 },
    });
    hub.start();
    try {
      await waitFor(async () => hub.statusEvent().status === "degraded", { timeoutMs: 3_000, what: "slow" });
      const seen = new Set<string>();
      for (const end = Date.now() + 1_000; Date.now() < end; await new Promise((r) => setTimeout(r, 5))) {
        const s = hub.statusEvent();
        seen.add(`${s.status}: ${s.message.replace(/[\d.]+ s/, "N s")}`);
      }
      expect([...seen].every((s) => s.startsWith("degraded: slow: the store took N s to answer its last read"))).toBe(true);
      expect(adapter.snapshots).toBeGreaterThan(3);
      adapter.gone = true;
      await waitFor(async () => /no answer after all: connection lost/.test(hub.statusEvent().message), { timeoutMs: 3_000, what: "a failed late answer" });
      for (const end = Date.now() + 300; Date.now() < end; await new Promise((r) => setTimeout(r, 5))) expect(hub.statusEvent().status).toBe("unreachable");
    } finally {
      await hub.stop();
    }
  });
});

/** One health check whose reply was lost: it gives up, and its failure comes much later; the store is fine meanwhile. */
class LostReplyAdapter extends ScriptedAdapter {
  checks = 0;
  override async health() {
    if (++this.checks > 1) return { status: "ok" as const, message: "" };
    const late = new Promise<string | null>((r) => setTimeout(() => r("Command timed out"), 1_000));
    return { status: "unreachable" as const, message: "timed out after 30 ms", late };
  }
}

describe("a lost health reply", () => {
  it("whose failure arrives after the store was read again does not take the connection down", async () => {
    const adapter = new LostReplyAdapter();
    adapter.locks = [rec("a", "h1")];
    const hub = new Hub("c", adapter, new EventBus(), { healthIntervalMs: 300, resyncIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => adapter.checks > 1 && hub.statusEvent().status === "ok", { timeoutMs: 3_000, what: "reachable again" });
      // The lost check's failure lands at ~1 s; the connection stays up through and after it.
      for (const end = Date.now() + 1_500; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) {
        const s = hub.statusEvent();
        expect(s.status, s.message).toBe("ok");
        expect(hub.isStale()).toBe(false);
      }
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
    // The lock as the first snapshot published it (read inside the bus's synchronous delivery):
    // a poll after it may already be past the 150 ms rules on a loaded machine.
    let first: LockRecord | undefined;
    bus.subscribe((e) => {
      events.push(e);
      if (e.type === "upsert" && e.data.lock.key === "a") first ??= hub.get("a");
    });
    const hub = new Hub("c", adapter, bus, {
      rules: { heldLongerThanMs: 150, waiterOlderThanMs: 150 },
      rulesIntervalMs: 50,
      healthIntervalMs: 60_000,
      resyncIntervalMs: 60_000,
    });
    hub.start();
    try {
      await waitFor(async () => first !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      expect(first!.warnings).toEqual([]);
      expect(first!.waiters[0].since).toBeDefined(); // first sighting, like holders
      // Each record's first sighting is its own observedAt (made a moment apart), so a tick can
      // find one past 150 ms and the other not yet: wait for both.
      await waitFor(async () => hub.get("a")!.warnings.length === 2 && hub.get("b")!.warnings.length === 1, { timeoutMs: 3_000, what: "rules fire" });
      expect(hub.get("a")!.warnings).toEqual(["held-too-long", "waiter-too-long"]);
      expect(hub.get("b")!.warnings).toEqual(["held-too-long"]);
      expect(hub.counts().stale).toBe(2);
      expect(events.some((e) => e.type === "upsert" && e.data.lock.key === "a" && e.data.lock.warnings.includes("waiter-too-long"))).toBe(true);
    } finally {
      await hub.stop();
    }
  });
});

describe("freshness: one confirmation time behind every age", () => {
  it("a live feed counts as confirmation; an outage's stale age runs from the last confirmation, not the first snapshot", async () => {
    const adapter = new ScriptedAdapter();
    adapter.locks = [rec("a", "h1")];
    const bus = new EventBus();
    const statuses: SequencedEvent[] = [];
    bus.subscribe((e) => e.type === "status" && statuses.push(e));
    const hub = new Hub("c", adapter, bus, { healthIntervalMs: 50, resyncIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined && hub.statusEvent().confirmedAt !== null, { timeoutMs: 2_000, what: "first snapshot" });
      const first = Date.parse(hub.statusEvent().confirmedAt!);
      const snapshotAt = hub.statusEvent().observedAt;
      // Quiet live feed: nothing changes, yet the confirmation moves with each health check.
      await waitFor(async () => hub.statusEvent().confirmedBy === "live-feed" && Date.parse(hub.statusEvent().confirmedAt!) > first + 300, {
        timeoutMs: 3_000,
        what: "live confirmations",
      });
      expect(hub.statusEvent().observedAt).toBe(snapshotAt); // the last full read did not move
      expect(hub.statusEvent().stale).toBe(false);
      expect(hub.statusEvent().confirmedAgeMs).toBeLessThan(500);
      expect(statuses.some((e) => e.type === "status" && e.data.confirmedBy === "live-feed")).toBe(true);

      const lastOk = Date.parse(hub.statusEvent().confirmedAt!);
      adapter.fail = true;
      await waitFor(async () => hub.statusEvent().status === "unreachable", { timeoutMs: 2_000, what: "unreachable" });
      const f = hub.statusEvent();
      expect(f.stale).toBe(true);
      expect(Date.parse(f.outageSince!)).toBe(Date.parse(f.confirmedAt!));
      expect(Date.parse(f.confirmedAt!)).toBeGreaterThanOrEqual(lastOk);
      // The age is now − last confirmation: well under the time since the first snapshot.
      expect(f.staleAgeMs!).toBeLessThan(Date.parse(f.now) - first);
      expect(f.staleAgeMs).toBe(Date.parse(f.now) - Date.parse(f.confirmedAt!));
      adapter.fail = false;
      await waitFor(async () => !hub.statusEvent().stale, { timeoutMs: 3_000, what: "recovery" });
      expect(hub.statusEvent().outageSince).toBeNull();
    } finally {
      await hub.stop();
    }
  });
});

describe("since: when a holding really started", () => {
  class RereadAdapter extends ScriptedAdapter {
    problems: { key: string; code: string; message: string }[] = [];
    override async snapshot(): Promise<LockSnapshot> {
      return { ...(await super.snapshot()), problems: this.problems };
    }
    async reread(keys: string[]) {
      const locks = this.locks.filter((l) => keys.includes(l.key)).map((l) => ({ ...l, observedAt: new Date().toISOString() }));
      return { locks, gone: keys.filter((k) => !locks.some((l) => l.key === k)), problems: this.problems.filter((p) => keys.includes(p.key)) };
    }
  }

  it("a queued waiter that takes over starts now (not at its store-recorded join); a holder that re-locks starts again", async () => {
    const adapter = new RereadAdapter();
    const joined = new Date(Date.now() - 60_000).toISOString();
    const a = rec("a", "n1");
    a.holders[0].since = new Date(Date.now() - 120_000).toISOString(); // store time (ZooKeeper ctime)
    a.waiters = [{ id: "n2", position: 1, since: joined }];
    adapter.locks = [a];
    const hub = new Hub("c", adapter, new EventBus(), { healthIntervalMs: 60_000, resyncIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      expect(hub.get("a")!.holders[0]).toMatchObject({ since: a.holders[0].since, sinceSource: "store" });
      expect(hub.get("a")!.holders[0].sinceObserved).not.toBe(true);
      expect(hub.get("a")!.waiters[0]).toMatchObject({ since: joined, sinceSource: "store" });
      // Handover: n1 gone, n2 (queued since a minute ago, per the store) holds.
      const b = rec("a", "n2");
      b.holders[0].since = joined;
      adapter.locks = [b];
      const before = Date.now();
      await hub.applyChanges(["a"]);
      const h = hub.get("a")!.holders[0];
      expect(h.sinceSource).toBe("became-holder");
      expect(Date.parse(h.since!)).toBeGreaterThanOrEqual(before - 5);
      // It stays so on later reads.
      await hub.applyChanges(["a"]);
      expect(hub.get("a")!.holders[0].since).toBe(h.since);

      // Redis-like: no store time; the same holder id unlocks and locks again later.
      adapter.locks = [rec("a", "t1")];
      await hub.applyChanges(["a"]);
      const first = hub.get("a")!.holders[0];
      expect(first.sinceSource).toBe("first-seen");
      adapter.locks = [];
      await hub.applyChanges(["a"]);
      await new Promise((r) => setTimeout(r, 20));
      adapter.locks = [rec("a", "t1")];
      await hub.applyChanges(["a"]);
      expect(Date.parse(hub.get("a")!.holders[0].since!)).toBeGreaterThan(Date.parse(first.since!));
    } finally {
      await hub.stop();
    }
  });

  it("a waiter that leaves the queue and comes back (a reorder) keeps its first sighting", async () => {
    const adapter = new RereadAdapter();
    const a = rec("a", "h");
    a.waiters = [
      { id: "w1", position: 1 },
      { id: "w2", position: 2 },
    ];
    adapter.locks = [a];
    const hub = new Hub("c", adapter, new EventBus(), { healthIntervalMs: 60_000, resyncIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      const w1 = hub.get("a")!.waiters[0].since;
      await new Promise((r) => setTimeout(r, 20));
      adapter.locks = [{ ...a, waiters: [{ id: "w2", position: 1 }] }];
      await hub.applyChanges(["a"]);
      adapter.locks = [
        {
          ...a,
          waiters: [
            { id: "w2", position: 1 },
            { id: "w1", position: 2 },
          ],
        },
      ];
      await hub.applyChanges(["a"]);
      expect(hub.get("a")!.waiters[1]).toMatchObject({ id: "w1", since: w1, sinceSource: "first-seen" });
    } finally {
      await hub.stop();
    }
  });

  it("a problem under a re-read key clears when the re-read no longer finds it (a root created after start-up)", async () => {
    const adapter = new RereadAdapter();
    adapter.problems = [{ key: "/locks", code: "root-missing", message: "/locks does not exist (yet)" }];
    const hub = new Hub("c", adapter, new EventBus(), { healthIntervalMs: 60_000, resyncIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.currentProblems().length === 1, { timeoutMs: 2_000, what: "first snapshot" });
      adapter.problems = [];
      adapter.locks = [rec("/locks/x", "n1")];
      await hub.applyChanges(["/locks"]);
      expect(hub.currentProblems()).toEqual([]);
      expect(hub.counts().problems).toBe(0);
    } finally {
      await hub.stop();
    }
  });
});

describe("back after an outage", () => {
  it("a feed given up while the store was down is tried again when a read finds the store back first, not at the next resync", async () => {
    const adapter = new (class extends ScriptedAdapter {
      watches = 0;
      override async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
        this.watches++;
        // Down: the feed fails before its first item (as a tracking subscribe does on a paused
        // server). Up: a quiet feed, until it is told the store went down.
        while (!this.fail && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
        if (this.fail) throw new Error("subscribe timed out");
      }
    })();
    adapter.locks = [rec("a", "h1")];
    // No health checks during the test: only the loop's reads can see the store come back.
    const hub = new Hub("c", adapter, new EventBus(), { healthIntervalMs: 600_000, resyncIntervalMs: 600_000 });
    hub.start();
    try {
      await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 5_000, what: "live" });
      adapter.fail = true;
      await waitFor(async () => hub.statusEvent().status === "unreachable", { timeoutMs: 10_000, what: "unreachable" });
      const watchesWhileDown = adapter.watches;
      adapter.fail = false;
      await waitFor(async () => hub.statusEvent().status === "ok", { timeoutMs: 10_000, what: "a read finds the store back" });
      await waitFor(async () => hub.statusEvent().mode === "live" && adapter.watches > watchesWhileDown, {
        timeoutMs: 15_000,
        what: `live again (mode ${hub.statusEvent().mode}: ${hub.statusEvent().message})`,
      });
    } finally {
      await hub.stop();
    }
  });
});

describe("renewals: records replaced without a published change", () => {
  it("are told to their reader by key (a changed holding is published instead); a full re-read says all", async () => {
    const adapter = new (class extends ScriptedAdapter {
      async reread(keys: string[]) {
        return { locks: this.locks.filter((l) => keys.includes(l.key)).map((l) => ({ ...l, observedAt: new Date().toISOString() })), gone: [], problems: [] };
      }
    })();
    adapter.locks = [rec("a", "h1"), rec("b", "h1")];
    const bus = new EventBus();
    const upserts: string[] = [];
    bus.subscribe((e) => e.type === "upsert" && upserts.push(e.data.lock.key));
    const hub = new Hub("c", adapter, bus, { healthIntervalMs: 60_000, resyncIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.get("b") !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      expect(hub.takeRenewals(), "after the first snapshot every record is new").toBe("all");
      expect(hub.takeRenewals()).toEqual(new Set());
      upserts.length = 0;
      // a: renewed (a new TTL, the same holding); b: another holder.
      adapter.locks = [{ ...rec("a", "h1"), ttlMs: 900 }, rec("b", "h2")];
      const before = hub.get("a");
      await hub.applyChanges(["a", "b"]);
      expect(hub.get("a")).not.toBe(before);
      expect(upserts).toEqual(["b"]);
      expect(hub.takeRenewals()).toEqual(new Set(["a"]));
      expect(hub.takeRenewals()).toEqual(new Set());
      await hub.refresh();
      expect(hub.takeRenewals()).toBe("all");
    } finally {
      await hub.stop();
    }
  });
});

describe("anonymous waiters", () => {
  it("are polled for held locks, make the lock contended, and keep the time they were first seen", async () => {
    class CountingAdapter extends ScriptedAdapter {
      count = 0;
      async anonymousWaiters(locks: LockRecord[]) {
        return new Map(locks.map((l) => [l.key, { count: this.count, source: `PUBSUB NUMSUB ch:${l.key}` }]));
      }
    }
    const adapter = new CountingAdapter();
    adapter.locks = [rec("a", "h1")];
    const bus = new EventBus();
    const events: SequencedEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const hub = new Hub("c", adapter, bus, { waitersIntervalMs: 30, healthIntervalMs: 60_000, resyncIntervalMs: 60_000 });
    hub.start();
    try {
      await waitFor(async () => hub.get("a") !== undefined, { timeoutMs: 2_000, what: "first snapshot" });
      expect(hub.counts().contended).toBe(0);
      adapter.count = 2;
      await waitFor(async () => hub.get("a")!.anonymousWaiters?.count === 2, { timeoutMs: 2_000, what: "count" });
      const since = hub.get("a")!.anonymousWaiters!.since;
      expect(hub.get("a")!.anonymousWaiters!.source).toBe("PUBSUB NUMSUB ch:a");
      expect(hub.counts().contended).toBe(1);
      expect(events.some((e) => e.type === "upsert" && e.data.lock.anonymousWaiters?.count === 2)).toBe(true);
      adapter.count = 3;
      await waitFor(async () => hub.get("a")!.anonymousWaiters?.count === 3, { timeoutMs: 2_000, what: "count 3" });
      expect(hub.get("a")!.anonymousWaiters!.since).toBe(since);
      adapter.count = 0;
      await waitFor(async () => hub.get("a")!.anonymousWaiters === undefined, { timeoutMs: 2_000, what: "none" });
      expect(hub.counts().contended).toBe(0);
    } finally {
      await hub.stop();
    }
  });
});
