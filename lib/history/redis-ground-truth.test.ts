// Real parts end to end: a redis-server with keyspace events on (KA), the Redis demo workload
// (node-redlock and python-redis-lock conventions), the Redis adapter with its live keyspace
// feed, a hub, the bus, the recorder, and SQLite or PostgreSQL. The workload logs what its
// clients did as their replies came back; what the recorder derived from the hub's changes must
// match it: every acquisition with its holder (the token in Redis) and time, every release with
// its hold time, and no acquisition on a workload key that the workload did not make.
//
// Tolerance: the recorder stamps a change when the hub publishes it, i.e. after the keyspace
// event, the feed's 15 ms coalescing window and a re-read round trip; the workload stamps when
// its command's reply arrives. Both sides share one event loop (and SQLite writes block it), so
// a few tens of ms is typical and a busy CI box adds more: 250 ms, the recorder's own expiry slack.
// Waits are not compared: Redis records no waiters for these libraries (redlock retries on a
// timer, python-redis-lock waiters block in BLPOP), so the recorder cannot see them (waitMs 0).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventBus } from "../hub/bus";
import { Hub } from "../hub/hub";
import { RedisAdapter } from "../stores/redis/adapter";
import { RedisConnectionSchema } from "../stores/redis/config";
import { startRedisWorkload, type RedisWorkloadLogEntry } from "../demo/redis-workload";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { Recorder } from "./recorder";
import type { LifeEvent } from "./types";
import type { HistoryStore } from "./sqlite";
import { PostgresHistoryStore } from "./postgres";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { HISTORY_SETTINGS } from "../../test/support/history";

const SETTINGS = HISTORY_SETTINGS;
/** Live keyspace feed: event + 15 ms coalescing + re-read, on a shared event loop (see above). */
const TOLERANCE_MS = 250;
const RUN_MS = 8_000;
/** Holdings shorter than this are below what a keyspace-notification feed can see (see below). */
const RESOLUTION_MS = 100;
const ID = "redis-gt";

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

let redis: RedisServer;
let pg: PgRig | null = null;
beforeAll(async () => {
  [redis, pg] = await Promise.all([startRedis({ notifyKeyspaceEvents: "KA" }), startPostgres()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), pg?.stop()]);
});

function pgStore(): HistoryStore {
  if (!pg) throw new Error("PostgreSQL binaries are not installed (apt-get install postgresql)");
  return new PostgresHistoryStore(pg.url);
}

function rig(dataDir: string, openStore?: () => HistoryStore) {
  const bus = new EventBus();
  const cfg = RedisConnectionSchema.parse({ id: ID, kind: "redis", url: redis.url, patterns: ["*"] });
  const hub = new Hub(ID, new RedisAdapter(ID, cfg), bus);
  const recorder = new Recorder(
    bus,
    { records: () => hub.all(), get: (_, k) => hub.get(k) },
    { dataDir, settings: SETTINGS, flushEveryMs: 200, openStore },
  ).start();
  hub.start();
  cleanup.push(async () => {
    await recorder.stop();
    await hub.stop();
  });
  return { hub, recorder };
}

const id = (key: string, holder: string | undefined) => `${key}\u0000${holder}`;

describe.each([["SQLite"], ["PostgreSQL"]])("recorder against the Redis demo workload (real redis-server, %s)", (kind) => {
  it("recorded acquisitions and holds match what the workload's clients did", async () => {
    const probe = new Redis(redis.url);
    cleanup.push(() => probe.disconnect());
    await probe.flushall(); // the no-expiry holders of an earlier run stay otherwise
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-hist-redis-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { hub, recorder } = rig(dir, kind === "PostgreSQL" ? pgStore : undefined);
    // Primed (first snapshot) and live (keyspace subscription confirmed and re-listed after):
    // from here on every write is seen as it happens. Since 8cdfed5 the adapter turns live only
    // after the hub's post-subscription re-list, whose status event still says "polling", so the
    // recorder hears "live" with the hub's next status: one throwaway write (not a workload key)
    // triggers it. Without it the first workload events would be recorded with resMs 5000.
    await until(() => hub.statusEvent().mode === "live" && recorder.connections.get(ID)?.primed === true, 10_000, "live feed");
    await probe.set("ground-truth:warm-up", "1");
    await until(() => hub.get("ground-truth:warm-up") !== undefined, 5_000, "the warm-up key in the hub");
    await probe.del("ground-truth:warm-up");
    await until(() => recorder.connections.get(ID)?.mode === "live", 5_000, "the recorder to hear that the feed is live").catch(async (e) => {
      throw new Error(`${e.message}: recorder ${JSON.stringify(recorder.connections.get(ID))}, hub ${JSON.stringify(hub.statusEvent())}`);
    });

    const truth: RedisWorkloadLogEntry[] = [];
    const t0 = Date.now();
    const workload = await startRedisWorkload(redis.url, {
      connect: (u) => new Redis(u),
      seed: 7,
      locks: 8,
      log: (e) => truth.push(e),
      onError: (e) => truth.push({ kind: "gave-up", at: Date.now(), lock: "?", key: "?", holderId: `error: ${String(e)}` }),
    });
    await new Promise((r) => setTimeout(r, RUN_MS));
    await workload.stop(); // live holders release here; the hub keeps watching
    expect(
      truth.filter((e) => e.lock === "?"),
      "workload command errors",
    ).toEqual([]);

    // A holding shorter than the feed's resolution (15 ms coalescing + the re-read) can be set
    // and deleted before the re-read looks, so a keyspace-notification feed never sees it: the
    // issue asks for agreement "within the resolution", so those holdings are left out (counted).
    const blink = new Set(truth.filter((e) => e.kind === "released" && e.heldMs < RESOLUTION_MS).map((e) => id(e.key, e.holderId)));
    const acquiredTruth = truth.filter(
      (e): e is Extract<RedisWorkloadLogEntry, { kind: "acquired" }> => e.kind === "acquired" && !blink.has(id(e.key, e.holderId)),
    );
    const releasedTruth = truth.filter(
      (e): e is Extract<RedisWorkloadLogEntry, { kind: "released" }> => e.kind === "released" && !blink.has(id(e.key, e.holderId)),
    );
    const db = recorder.reader()!;
    const recorded = () => db.events({ from: t0 - 1_000, to: Date.now() + 60_000 });
    // Flushed: everything the workload did is in the store (or the deadline passes, and the
    // comparison below says what is missing).
    const covered = (events: LifeEvent[]) => {
      const got = new Set(events.filter((e) => e.kind !== "seen").map((e) => `${e.kind}/${id(e.key, e.holder)}`));
      return (
        acquiredTruth.every((t) => got.has(`acquired/${id(t.key, t.holderId)}`)) && releasedTruth.every((t) => got.has(`released/${id(t.key, t.holderId)}`))
      );
    };
    await until(async () => recorder.state().queued === 0 && covered(await recorded()), 5_000, "the recorder to catch up").catch(() => undefined);
    await recorder.flush();
    const events = await recorded();

    const workloadKeys = new Set(truth.map((e) => e.key));
    const onWorkloadKeys = events.filter((e) => workloadKeys.has(e.key));
    const acquired = new Map(onWorkloadKeys.filter((e) => e.kind === "acquired").map((e) => [id(e.key, e.holder), e]));
    const ended = new Map(onWorkloadKeys.filter((e) => e.kind === "released" || e.kind === "expired").map((e) => [id(e.key, e.holder), e]));

    // What Redis saw vs what the recorder recorded, for the report when something is off.
    const mismatches: string[] = [];
    for (const t of acquiredTruth) {
      const got = acquired.get(id(t.key, t.holderId));
      if (!got) mismatches.push(`missing acquisition ${t.key} by ${t.holderId} at +${t.at - t0} ms`);
      else if (Math.abs(got.at - t.at) > TOLERANCE_MS) mismatches.push(`acquisition ${t.key} by ${t.holderId}: recorded ${got.at - t.at} ms off`);
    }
    const truthAcq = new Set(acquiredTruth.map((t) => id(t.key, t.holderId)));
    for (const [k, e] of acquired) if (!truthAcq.has(k) && !blink.has(k)) mismatches.push(`extra acquisition ${e.key} by ${e.holder} at +${e.at - t0} ms`);
    for (const t of releasedTruth) {
      const got = ended.get(id(t.key, t.holderId));
      if (!got) mismatches.push(`missing release ${t.key} by ${t.holderId} at +${t.at - t0} ms`);
      else if (got.kind !== "released") mismatches.push(`release ${t.key} by ${t.holderId} recorded as ${got.kind}`);
      else if (Math.abs(got.holdMs! - t.heldMs) > TOLERANCE_MS)
        mismatches.push(`release ${t.key} by ${t.holderId}: hold ${got.holdMs} ms recorded, ${t.heldMs} ms held`);
    }
    const truthRel = new Set(releasedTruth.map((t) => id(t.key, t.holderId)));
    for (const [k, e] of ended) if (!truthRel.has(k) && !blink.has(k)) mismatches.push(`extra ${e.kind} ${e.key} by ${e.holder} at +${e.at - t0} ms`);

    const drift = [...acquiredTruth.map((t) => acquired.get(id(t.key, t.holderId))?.at ?? NaN).map((at, i) => at - acquiredTruth[i].at)].filter(
      Number.isFinite,
    );
    console.info(
      `[redis ground truth, ${kind}] ${acquiredTruth.length} acquisitions, ${releasedTruth.length} releases, ` +
        `${blink.size} shorter than ${RESOLUTION_MS} ms left out, ${truth.filter((e) => e.kind === "crashed").length} crashes, ${truth.filter((e) => e.kind === "gave-up").length} gave up; ` +
        `recorded ${acquired.size} acquisitions, ${ended.size} ends on workload keys; ` +
        `acquisition lag (recorded - client) min ${Math.min(...drift)} / max ${Math.max(...drift)} ms; ` +
        `other keys: ${[...new Set(events.filter((e) => !workloadKeys.has(e.key)).map((e) => `${e.key}:${e.kind}`))].join(", ") || "none"}; ` +
        `not live (resMs > 0): ${onWorkloadKeys.filter((e) => e.resMs !== 0).length}`,
    );

    // Around each mismatch: what the workload did and what the recorder recorded on that key.
    for (const m of mismatches) {
      const key = / (\S+) by /.exec(m)?.[1];
      const near = (at: number) => Math.abs(at - Number(/\+(\d+) ms/.exec(m)?.[1] ?? 0) - t0) < 3_000;
      const did = truth.filter((t) => t.key === key && near(t.at)).map((t) => `${t.kind} ${t.holderId} +${t.at - t0}`);
      const rec = events
        .filter((e) => e.key === key && near(e.at))
        .map((e) => `${e.kind} ${e.holder} +${e.at - t0}${e.holdMs !== undefined ? ` hold ${e.holdMs}` : ""}`);
      console.info(`[redis ground truth, ${kind}] ${m}\n  workload: ${did.join("; ")}\n  recorded: ${rec.join("; ")}`);
    }
    expect(acquiredTruth.length).toBeGreaterThan(10);
    expect(releasedTruth.length).toBeGreaterThan(5);
    expect(mismatches).toEqual([]);
    expect(onWorkloadKeys.every((e) => e.resMs === 0)).toBe(true);
  }, 40_000);
});
