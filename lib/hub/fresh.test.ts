// A locks page's TTLs when the store stops answering (lib/hub/fresh.ts), on a real redis-server:
// reached through the fault proxy (blackholed: connections stay open, nothing passes), and
// frozen itself (SIGSTOP). The page shows the newest TTL the store gave for each lock's holding
// — the last fresh PTTL, not the older snapshot value — with when the store gave it, says its
// TTLs were not re-read, and a TTL never goes up. A new holder never inherits the old one's TTL.
// Then the same rules over a scripted adapter, where the order of readings is set by hand.

import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { startFaultProxy, type FaultProxy } from "../../scripts/servers/fault-proxy";
import { waitFor } from "../../scripts/servers/process";
import { ScriptedAdapter, scriptedLock } from "../../test/support/scripted-adapter";
import { EventBus } from "./bus";
import { Hub } from "./hub";
import { freshTtls, ttlReadingsOf } from "./fresh";
import type { LockSnapshot } from "../model";
import { RedisAdapter } from "../stores/redis/adapter";
import { RedisConnectionSchema } from "../stores/redis/config";

/** The hub's read deadline: a fresh TTL read of a frozen store is given up after this. */
const DEADLINE_MS = 800;

/** Fresh TTL answers for `key` until one is at least `belowMs` under the hub's own record's TTL. */
async function freshReadingBelowRecord(hub: Hub, key: string, belowMs: number) {
  let answer: Awaited<ReturnType<typeof freshTtls>> | undefined;
  await waitFor(
    async () => {
      const rec = hub.get(key)!;
      answer = await freshTtls(hub, [rec]);
      return answer.ttls?.fresh === true && answer.locks[0].ttlMs! <= rec.ttlMs! - belowMs;
    },
    { timeoutMs: 15_000, intervalMs: 250, what: `a fresh PTTL of ${key} ${belowMs} ms under the snapshot's` },
  );
  return answer!;
}

describe("fresh TTLs when the store stops answering (real redis-server)", () => {
  let server: RedisServer;
  let proxy: FaultProxy;
  let raw: Redis;
  let hub: Hub;

  beforeAll(async () => {
    server = await startRedis({ notifyKeyspaceEvents: "KA" });
    proxy = await startFaultProxy(server.port);
    raw = new Redis(server.url);
    raw.on("error", () => {});
    const cfg = RedisConnectionSchema.parse({ id: "r", kind: "redis", url: `redis://${proxy.address}`, notifications: "use", commandTimeoutMs: 1_000 });
    hub = new Hub("r", new RedisAdapter("r", cfg), new EventBus(), {
      healthIntervalMs: 1_000,
      reads: { maxInFlight: 4, deadlineMs: DEADLINE_MS, slowMs: 5_000 },
    });
    hub.start();
    await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 15_000, what: "live" });
  }, 60_000);
  afterAll(async () => {
    try {
      process.kill(server.pid(), "SIGCONT");
    } catch {
      // not running
    }
    await hub?.stop();
    raw?.disconnect();
    await proxy?.close();
    await server?.stop();
  });

  it("blackholed: the last fresh PTTL with its observedAt, marked not fresh, never higher; fresh again when back", async () => {
    const key = "lock:fresh:a";
    await raw.set(key, "tok-a-0123456789", "PX", 120_000);
    await waitFor(async () => hub.get(key) !== undefined, { timeoutMs: 10_000, what: key });
    const snap = hub.get(key)!;
    const shown = await freshReadingBelowRecord(hub, key, 2_500);
    const last = shown.locks[0];
    expect(shown.ttls).toEqual({ fresh: true, readAt: last.observedAt });
    // The hub's record still carries the snapshot's older, higher TTL.
    expect(hub.get(key)!.observedAt).toBe(snap.observedAt);
    expect(hub.get(key)!.ttlMs!).toBeGreaterThan(last.ttlMs! + 2_000);

    proxy.blackhole();
    // Reachable still (its health check has not failed yet): the read times out at the deadline.
    const cut = await freshTtls(hub, [hub.get(key)!]);
    expect(cut.ttls).toMatchObject({ fresh: false, readAt: last.observedAt, error: expect.stringMatching(/did not answer within/) });
    expect(cut.locks[0]).toMatchObject({ key, ttlMs: last.ttlMs, observedAt: last.observedAt });
    // Unreachable: not read at all, and still the last reading the store gave.
    await waitFor(async () => !hub.reachable, { timeoutMs: 15_000, what: "unreachable" });
    const down = await freshTtls(hub, [hub.get(key)!]);
    expect(down.ttls).toMatchObject({ fresh: false, readAt: last.observedAt, error: expect.stringMatching(/unreachable/) });
    expect(down.locks[0]).toMatchObject({ key, ttlMs: last.ttlMs, observedAt: last.observedAt });

    // Back. The black hole dropped bytes (TCP would have resent them): the connections that
    // lost them are reset, as a long partition usually ends, and the clients reconnect.
    proxy.restore();
    proxy.reset();
    let back: Awaited<ReturnType<typeof freshTtls>> | undefined;
    await waitFor(
      async () => {
        back = await freshTtls(hub, [hub.get(key)!]);
        return back.ttls?.fresh === true;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: "fresh TTLs again" },
    );
    expect(back!.locks[0].ttlMs!).toBeLessThan(last.ttlMs!);
    expect(Date.parse(back!.locks[0].observedAt)).toBeGreaterThan(Date.parse(last.observedAt));
  }, 90_000);

  it("frozen (SIGSTOP): the last fresh PTTL; after a holder change, the new holder's own TTL, never the old holder's reading", async () => {
    const key = "lock:fresh:b";
    await waitFor(async () => hub.reachable && !hub.freshness().stale, { timeoutMs: 30_000, what: "reachable" });
    await raw.set(key, "tok-b1-0123456789", "PX", 60_000);
    await waitFor(async () => hub.get(key)?.holders[0]?.id === "tok-b1-0123456789", { timeoutMs: 10_000, what: key });
    const a = (await freshReadingBelowRecord(hub, key, 2_500)).locks[0];

    process.kill(server.pid(), "SIGSTOP");
    try {
      const frozen = await freshTtls(hub, [hub.get(key)!]);
      expect(frozen.ttls).toMatchObject({ fresh: false, readAt: a.observedAt });
      expect(frozen.locks[0]).toMatchObject({ ttlMs: a.ttlMs, observedAt: a.observedAt });
    } finally {
      process.kill(server.pid(), "SIGCONT");
    }

    // Another holder, with a longer TTL: the hub re-reads it; no fresh read is made of it.
    await raw.set(key, "tok-b2-0123456789", "PX", 600_000);
    await waitFor(async () => hub.get(key)?.holders[0]?.id === "tok-b2-0123456789", { timeoutMs: 20_000, what: "the new holder" });
    const b = hub.get(key)!;
    expect(b.ttlMs!).toBeGreaterThan(500_000);

    const kept = ttlReadingsOf(hub);
    const readings = kept.size;
    process.kill(server.pid(), "SIGSTOP");
    try {
      const frozen = await freshTtls(hub, [b]);
      expect(frozen.ttls).toMatchObject({ fresh: false, readAt: b.observedAt });
      expect(frozen.locks[0]).toMatchObject({ ttlMs: b.ttlMs, observedAt: b.observedAt, holders: [{ id: "tok-b2-0123456789" }] });
      // The old holder's reading is dropped, not kept beside the new holding.
      expect(kept.size).toBe(readings - 1);
      expect(kept.newest(b)).toBe(b);
    } finally {
      process.kill(server.pid(), "SIGCONT");
    }
  }, 90_000);
});

// ---- over a scripted adapter: the order of readings set by hand ----------------------------

const rec = (key: string, holder: string, ttlMs: number, observedAt: number) => scriptedLock(key, holder, { ttlMs, observedAt });

/** The hub's scripted adapter with a TTL read whose answer (or failure) the test sets; it polls, and its snapshots are copies. */
class TtlAdapter extends ScriptedAdapter {
  /** The next TTL read's answer, or its failure. */
  answer: Map<string, number | null> | Error = new Map();
  override updateMode = () => ({ mode: "polling" as const, intervalMs: 60_000 });
  override async snapshot(): Promise<LockSnapshot> {
    // Copies: the hub fills holders' starts in place.
    const locks = this.locks.map((l) => ({ ...l, holders: l.holders.map((h) => ({ ...h })) }));
    return { locks, problems: [], observedAt: new Date().toISOString(), consistency: "x" };
  }
  async ttls(): Promise<Map<string, number | null>> {
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

describe("fresh TTL readings (scripted adapter)", () => {
  async function setup() {
    const adapter = new TtlAdapter();
    const hub = new Hub("c", adapter, new EventBus(), { healthIntervalMs: 60_000 });
    return { adapter, hub, read: async (key: string) => freshTtls(hub, [hub.get(key)!]) };
  }

  it("a new holding read before the last fresh reading does not take that reading", async () => {
    const { adapter, hub, read } = await setup();
    const t = Date.now();
    adapter.locks = [rec("k", "h1", 60_000, t - 10_000)];
    await hub.refresh();
    adapter.answer = new Map([["k", 50_000]]);
    const first = await read("k");
    expect(first.locks[0].ttlMs).toBe(50_000);
    // h2's record comes from a read that started before that reading (a long snapshot).
    adapter.locks = [rec("k", "h2", 300_000, t - 5_000)];
    await hub.refresh();
    adapter.answer = new Error("the store did not answer within 800 ms");
    const after = await read("k");
    expect(after.ttls).toEqual({ fresh: false, readAt: new Date(t - 5_000).toISOString(), error: "the store did not answer within 800 ms" });
    expect(after.locks[0]).toMatchObject({ ttlMs: 300_000, observedAt: new Date(t - 5_000).toISOString(), holders: [{ id: "h2" }] });
    await hub.stop();
  });

  it("the same holding released and taken again does not inherit the reading of the one before", async () => {
    const { adapter, hub, read } = await setup();
    const t = Date.now();
    adapter.locks = [rec("k", "h1", 60_000, t - 10_000)];
    await hub.refresh();
    adapter.answer = new Map([["k", 50_000]]);
    await read("k");
    adapter.locks = [];
    await hub.refresh();
    adapter.locks = [rec("k", "h1", 90_000, t - 5_000)];
    await hub.refresh();
    adapter.answer = new Error("down");
    expect((await read("k")).locks[0]).toMatchObject({ ttlMs: 90_000, observedAt: new Date(t - 5_000).toISOString() });
    await hub.stop();
  });

  it("the record's own reading wins when it is newer; a key left out of the answer falls back too", async () => {
    const { adapter, hub, read } = await setup();
    const t = Date.now();
    adapter.locks = [rec("k", "h1", 60_000, t - 10_000), rec("j", "h1", 60_000, t - 10_000)];
    await hub.refresh();
    adapter.answer = new Map([["k", 50_000]]);
    const partial = await freshTtls(hub, [hub.get("k")!, hub.get("j")!]);
    expect(partial.ttls).toEqual({ fresh: false, readAt: new Date(t - 10_000).toISOString(), error: "the store's answer had no TTL for 1 of 2 locks" });
    expect(partial.locks.map((l) => l.ttlMs)).toEqual([50_000, 60_000]);
    // A renewal read after the fresh reading: the record is the newest the store gave.
    adapter.locks = [rec("k", "h1", 59_000, Date.now() + 1_000)];
    await hub.refresh();
    adapter.answer = new Error("down");
    expect((await read("k")).locks[0].ttlMs).toBe(59_000);
    await hub.stop();
  });

  it("keeps readings only for keys the hub still holds", async () => {
    const { adapter, hub } = await setup();
    const t = Date.now();
    adapter.locks = ["a", "b", "c"].map((k) => rec(k, "h1", 60_000, t - 10_000));
    await hub.refresh();
    adapter.answer = new Map(["a", "b", "c"].map((k) => [k, 50_000]));
    await freshTtls(
      hub,
      ["a", "b", "c"].map((k) => hub.get(k)!),
    );
    const kept = ttlReadingsOf(hub);
    expect(kept.size).toBe(3);
    adapter.locks = [rec("a", "h1", 60_000, t - 10_000), rec("b", "h2", 60_000, t - 10_000)];
    await hub.refresh();
    kept.sweep((k) => hub.get(k), Date.now() + 60_000);
    expect(kept.size).toBe(1); // c is gone, b has another holder
    await hub.stop();
  });
});
