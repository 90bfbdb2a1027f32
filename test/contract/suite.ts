// The adapter contract: what every store's adapter does, run against each store's real server
// (test/contract/<kind>.test.ts gives the suite a driver: the server, a connection to it, and
// the store's own client to take locks with). A new store passes this before it is registered
// (docs/architecture.md, "How to add a store"); what only one store does stays in its own tests.
//
//   1. snapshot: a held lock is one whole record (shape, signed fence), with the store's own TTL;
//      the detail read (lib/api/detail.ts) re-reads it by key from the store, and a lock released
//      since is gone from it at once;
//   2. a change arrives through the hub as an upsert, a release as a remove;
//   3. an expiry (the holder stopped renewing, nobody released) arrives as a remove;
//   4. a guarded release refuses a holding that changed since it was seen, and releases the one seen;
//   5. a key outside the connection's scope is refused before anything reaches the store;
//   6. the store cut off: the view goes stale with its age and keeps the last snapshot; back: fresh;
//   7. a store that answers later than the health check waits is slow, not down: the check says
//      so (Health.late) and the late answer resolves it (the hub then shows "slow", not "unreachable").

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBus, type SequencedEvent } from "../../lib/hub/bus";
import { Hub } from "../../lib/hub/hub";
import { ConnectionSchema, storeModule } from "../../lib/stores";
import type { OpenedConnection } from "../../lib/stores/module";
import { decodeFence, encodeFence, withFence } from "../../lib/fence";
import type { LockView, TtlSource } from "../../lib/model";
import { lockDetail } from "../../lib/api/detail";
import { waitFor } from "../../scripts/servers/process";

export const CONNECTION = "contract";

export interface Held {
  /** Ends the holding as its client would (idempotent). */
  release(): Promise<void>;
}

export interface ContractStore {
  /** An adapter on this store; its scope covers the locks hold() takes, and not `outOfScope`. */
  open(): OpenedConnection;
  /** Takes lock `name` with the store's own client. ttlMs: it expires by itself (nobody renews it). */
  hold(name: string, o?: { ttlMs?: number }): Promise<Held>;
  /** The record key LockDeck shows for lock `name`. */
  keyOf(name: string): string;
  /** A key the connection does not cover (absent: the store has no scope, every name is its own). */
  outOfScope?: string;
  /** Cuts the adapter off the store (a fault proxy between them), and back. */
  cut?: { down(): void; up(): void };
  /** Delays every reply from the store by `ms` (a fault proxy), and back. */
  slow?: { on(ms: number): void; off(): void };
  stop(): Promise<void>;
}

export interface ContractDriver {
  kind: string;
  /** The TTL an expiring hold asks for; the store's own minimum where it has one (Consul's session TTL). */
  expiryTtlMs: number;
  /**
   * Where a held lock's ttlMs comes from. remaining: the store reports the time left of the
   * lease/PTTL a hold asks for (Redis, etcd, memory); false: the store has no per-lock remaining
   * time (a ZooKeeper or Consul session), and ttlMs is null rather than a countdown of ours.
   */
  storeTtl: { source: TtlSource; remaining: boolean };
  /** False where the store lives in this process and cannot be cut off (the memory store): that case is not run. */
  cuttable: boolean;
  /** False where the connection covers every name (the memory store): the scope case is not run. */
  scoped: boolean;
  /** True where a health check is a request to the store (not ZooKeeper's: its session's state; not the in-process memory store): the slow case runs. */
  healthAsks: boolean;
  start(): Promise<ContractStore>;
  /** How long start() may take (a cold Consul build is minutes); default: vitest's hook timeout. */
  startTimeoutMs?: number;
}

/** An adapter from a connection config, as the registry opens it (lib/registry.ts). */
export function openConnection(connection: Record<string, unknown>): OpenedConnection {
  const cfg = ConnectionSchema.parse({ id: CONNECTION, ...connection });
  return storeModule(cfg.kind).open(cfg);
}

const signal = () => AbortSignal.timeout(15_000);

export function adapterContract(driver: ContractDriver): void {
  describe(`${driver.kind}: the adapter contract`, () => {
    let s: ContractStore;
    const opened: OpenedConnection[] = [];
    const held: Held[] = [];
    const hubs: Hub[] = [];

    beforeAll(async () => {
      s = await driver.start();
    }, driver.startTimeoutMs);
    afterAll(async () => {
      for (const h of hubs) await h.stop();
      for (const h of held) await h.release().catch(() => undefined);
      for (const o of opened) {
        o.stop();
        await o.adapter.close();
      }
      await s?.stop();
    });

    const adapter = () => {
      const o = s.open();
      opened.push(o);
      return o.adapter;
    };
    const hold = async (name: string, o?: { ttlMs?: number }) => {
      const h = await s.hold(name, o);
      held.push(h);
      return h;
    };
    /** A hub over a fresh adapter, its events, and a wait for its first good read. */
    const hub = async () => {
      const bus = new EventBus();
      const events: SequencedEvent[] = [];
      bus.subscribe((e) => events.push(e));
      const h = new Hub(CONNECTION, adapter(), bus, { healthIntervalMs: 300 });
      hubs.push(h);
      h.start();
      await waitFor(async () => h.statusEvent().status === "ok" && h.statusEvent().observedAt !== null, {
        timeoutMs: 20_000,
        what: "the hub's first snapshot",
      });
      const seen = (what: string, match: (e: SequencedEvent) => boolean, timeoutMs = 20_000) =>
        waitFor(async () => events.some(match), { timeoutMs, intervalMs: 50, what });
      return { hub: h, events, seen };
    };
    /** The lock at `key` as a fresh snapshot reads it, with its fence made (as the API sends it to an operator). */
    const recordOf = async (a: ReturnType<typeof adapter>, key: string): Promise<LockView | undefined> => {
      const r = (await a.snapshot(signal())).locks.find((l) => l.key === key);
      return r && withFence(r);
    };

    it("snapshot: a held lock is one whole record, with a signed fence and the store's own TTL", async () => {
      const a = adapter();
      await waitFor(async () => (await a.health(signal())).status === "ok", { timeoutMs: 15_000, what: "health ok" });
      await hold("shape");
      const key = s.keyOf("shape");
      const snap = await a.snapshot(signal());
      expect(Number.isNaN(Date.parse(snap.observedAt))).toBe(false);
      expect(snap.consistency).not.toBe("");
      const r = snap.locks.find((l) => l.key === key);
      expect(r, `a record for ${key}; read: ${snap.locks.map((l) => l.key).join(", ")}`).toBeDefined();
      const rec = withFence(r!);
      expect(rec).toMatchObject({ connection: CONNECTION, key, state: "held" });
      expect(a.formats).toContain(rec.format);
      expect(rec.holders.length).toBeGreaterThan(0);
      for (const h of rec.holders) expect(h.id).not.toBe("");
      expect(Array.isArray(rec.waiters) && Array.isArray(rec.warnings)).toBe(true);
      expect(Number.isNaN(Date.parse(rec.observedAt))).toBe(false);
      expect(rec.consistency).not.toBe("");
      expect(decodeFence(rec.fence)).toMatchObject({ c: CONNECTION, k: key, f: rec.format });
      // The plan offers only modes the store declares, "delete" first.
      const plan = a.describeRelease(rec, "delete");
      expect(plan.modes[0]).toBe("delete");
      for (const m of plan.modes) expect(storeModule(driver.kind).releaseModes).toContain(m);
    });

    it("TTL: the store's own remaining time where it has one, never a countdown of ours", async () => {
      const a = adapter();
      const askedMs = 60_000;
      // Nobody renews it: whatever time is left is what the store itself counts down.
      await hold("ttl", driver.storeTtl.remaining ? { ttlMs: askedMs } : undefined);
      const rec = (await recordOf(a, s.keyOf("ttl")))!;
      expect(rec.ttlSource).toBe(driver.storeTtl.source);
      if (!driver.storeTtl.remaining) return expect(rec.ttlMs).toBeNull();
      // At most what was asked, and not a default: the lease/PTTL this hold set (etcd rounds to seconds).
      expect(rec.ttlMs).not.toBeNull();
      expect(rec.ttlMs!).toBeLessThanOrEqual(askedMs);
      expect(rec.ttlMs!).toBeGreaterThan(askedMs - 15_000);
      // Fresh TTLs by key (the lock page's read), where the adapter offers them, say the same.
      if (a.ttls) {
        const fresh = (await a.ttls([rec.key], signal())).get(rec.key);
        expect(fresh).toBeGreaterThan(askedMs - 15_000);
        expect(fresh).toBeLessThanOrEqual(askedMs);
      }
    });

    it("detail: a read by key re-reads the record from the store; a lock released since is gone at once", async () => {
      const { hub: h } = await hub();
      const key = s.keyOf("detail");
      const held1 = await hold("detail");
      const d = await lockDetail({ hub: h }, key);
      expect(d, `a detail for ${key}`).not.toBeNull();
      expect(d!.lock).toMatchObject({ key, state: "held" });
      expect(decodeFence(d!.lock.fence)).toMatchObject({ c: CONNECTION, k: key });
      expect(d!.stale).toBe(false);
      expect(Object.keys(d!.plans)).toEqual(d!.plan.modes);
      // Released by its client: the detail read asks the store, so it knows without waiting for the feed.
      await held1.release();
      const after = await lockDetail({ hub: h }, key);
      expect(after === null || after.lock.state !== "held", JSON.stringify(after?.lock)).toBe(true);
    });

    it("a change arrives as an upsert, a release as a remove", async () => {
      const { seen } = await hub();
      const key = s.keyOf("live");
      const h = await hold("live");
      await seen(`an upsert of ${key}, held`, (e) => e.type === "upsert" && e.data.lock.key === key && e.data.lock.state === "held");
      await h.release();
      await seen(`a remove of ${key}`, (e) => e.type === "remove" && e.data.key === key);
    });

    it("an expiry arrives as a remove", async () => {
      const { seen } = await hub();
      const key = s.keyOf("expiring");
      await hold("expiring", { ttlMs: driver.expiryTtlMs });
      await seen(`an upsert of ${key}`, (e) => e.type === "upsert" && e.data.lock.key === key);
      await seen(`${key} to expire (a remove)`, (e) => e.type === "remove" && e.data.key === key, driver.expiryTtlMs * 3 + 15_000);
    });

    it("a guarded release refuses a holding that changed since it was seen, and releases the one seen", async () => {
      const a = adapter();
      const key = s.keyOf("guarded");
      const first = await hold("guarded");
      const seenFirst = (await recordOf(a, key))!;
      await first.release();
      await hold("guarded");
      let now: LockView | undefined;
      await waitFor(async () => (now = await recordOf(a, key)) !== undefined && now.state === "held" && now.fence !== seenFirst.fence, {
        timeoutMs: 15_000,
        what: `${key} held again`,
      });
      const current = now!;
      const refused = await a.forceRelease(seenFirst, "delete", signal());
      expect(refused.status).toBe("changed");
      // The answer names the holding there now, and it is untouched.
      expect(refused.status === "changed" && refused.current?.holders.map((h) => h.id)).toEqual(current.holders.map((h) => h.id));
      expect((await recordOf(a, key))?.fence).toBe(current.fence);
      expect((await a.forceRelease(current, "delete", signal())).status).toBe("released");
      const after = await recordOf(a, key);
      expect(after === undefined || after.state !== "held").toBe(true);
      // The same release again finds nothing of that holding: gone, or changed (nobody holds it).
      const again = await a.forceRelease(current, "delete", signal());
      expect(again.status === "gone" || (again.status === "changed" && again.current?.state !== "held"), JSON.stringify(again)).toBe(true);
    });

    it.runIf(driver.scoped)("a key outside the connection's scope is refused before anything reaches the store", async () => {
      const a = adapter();
      const outOfScope = s.outOfScope!;
      expect(a.keyProblem(s.keyOf("in-scope"))).toBeNull();
      expect(a.keyProblem(outOfScope)).toMatchObject({ code: "out_of_scope" });
      await hold("in-scope");
      const rec = (await recordOf(a, s.keyOf("in-scope")))!;
      // A fence this server signed, naming the out-of-scope key with the holding seen in scope.
      const aimed: LockView = { ...rec, key: outOfScope, fence: encodeFence(CONNECTION, outOfScope, rec.format, decodeFence(rec.fence).h) };
      const out = await a.forceRelease(aimed, "delete", signal());
      expect(out.status).toBe("refused");
      expect((await recordOf(a, s.keyOf("in-scope")))?.fence).toBe(rec.fence);
    });

    it.runIf(driver.cuttable)("cut off: the view goes stale with its age and keeps the last snapshot; back: fresh again", async () => {
      const { hub: h } = await hub();
      const key = s.keyOf("outage");
      await hold("outage");
      await waitFor(async () => h.get(key)?.state === "held", { timeoutMs: 20_000, what: `${key} in the view` });
      s.cut!.down();
      try {
        await waitFor(async () => h.statusEvent().status === "unreachable", { timeoutMs: 20_000, what: "unreachable" });
        const first = h.freshness();
        expect(first.stale).toBe(true);
        expect(first.outageSince).not.toBeNull();
        await waitFor(async () => (h.freshness().staleAgeMs ?? 0) > (first.staleAgeMs ?? 0), { timeoutMs: 5_000, what: "the stale age to grow" });
        expect(h.get(key)?.state).toBe("held"); // stale beats partial: the last good snapshot stays
      } finally {
        s.cut!.up();
      }
      await waitFor(async () => h.statusEvent().status === "ok" && !h.freshness().stale, { timeoutMs: 30_000, what: "fresh again" });
      expect(h.freshness().outageSince).toBeNull();
      expect(h.get(key)?.state).toBe("held");
    });

    it.runIf(driver.healthAsks)(
      "slow: a health check that stops waiting says its answer may still come, and the late answer comes",
      { timeout: 45_000 },
      async () => {
        if (!s.slow) throw new Error(`the ${driver.kind} driver gives no way to slow the store down`);
        const a = adapter();
        await waitFor(async () => (await a.health(signal())).status !== "unreachable", { timeoutMs: 15_000, what: "health checks answered (connected)" });
        s.slow.on(4_000); // longer than every adapter's 3 s health check
        try {
          const t0 = Date.now();
          const h = await a.health(signal());
          expect(h.status).toBe("unreachable");
          expect(Date.now() - t0).toBeLessThan(4_000);
          expect(h.late, `${h.message}: a late answer is still possible`).toBeDefined();
          expect(await h.late).toBeNull();
        } finally {
          s.slow.off();
        }
      },
    );
  });
}
