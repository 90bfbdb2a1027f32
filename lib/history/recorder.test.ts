// Real parts: the demo workload on the in-process store, its adapter, a hub, the bus, the
// recorder and a SQLite file. The workload logs its own ground truth; what the recorder
// derived from the hub's changes must match it within the live resolution (plus hub latency).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventBus } from "../hub/bus";
import { Hub } from "../hub/hub";
import { MemoryLockStore } from "../stores/memory/store";
import { MemoryAdapter } from "../stores/memory/adapter";
import { startWorkload, type WorkloadLogEntry } from "../demo/workload";
import { Recorder } from "./recorder";
import { lockHistory, window } from "./query";
import type { LifeEvent } from "./types";
import type { ConnectionStatus } from "../model";
import type { HistoryStore } from "./sqlite";
import { PostgresHistoryStore } from "./postgres";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { HISTORY_SETTINGS } from "../../test/support/history";

const SETTINGS = HISTORY_SETTINGS;
/** Live feed: the hub re-reads on the store's change notification; allow for that hop. */
const TOLERANCE_MS = 150;

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function rig(dataDir: string, openStore?: () => HistoryStore) {
  const bus = new EventBus();
  const store = new MemoryLockStore();
  store.start();
  const hub = new Hub("mem", new MemoryAdapter("mem", store), bus);
  const recorder = new Recorder(
    bus,
    { records: () => hub.all(), get: (_, k) => hub.get(k) },
    { dataDir, settings: SETTINGS, flushEveryMs: 200, openStore },
  ).start();
  hub.start();
  cleanup.push(async () => {
    await recorder.stop();
    await hub.stop();
    store.stop();
  });
  return { store, hub, recorder };
}

let pg: PgRig | null = null;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

function pgStore(): HistoryStore {
  if (!pg) throw new Error("PostgreSQL binaries are not installed (apt-get install postgresql)");
  return new PostgresHistoryStore(pg.url);
}

describe.each([["SQLite"], ["PostgreSQL"]])("recorder against the demo workload (memory store, %s)", (kind) => {
  it("recorded acquisitions, holds and waits match the workload's ground truth", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-hist-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { store, recorder } = rig(dir, kind === "PostgreSQL" ? pgStore : undefined);
    await until(() => recorder.connections.get("mem")?.primed === true, 5_000, "first snapshot");

    const truth: WorkloadLogEntry[] = [];
    const t0 = Date.now();
    const workload = startWorkload(store, { seed: 7, locks: 6, log: (e) => truth.push(e) });
    await new Promise((r) => setTimeout(r, 8_000));
    const stopAt = Date.now();
    workload.stop();
    await until(() => recorder.state().queued === 0, 5_000, "flush");
    await recorder.flush();

    const db = recorder.reader()!;
    const events = await db.events({ from: t0 - 1_000, to: stopAt + 60_000 });
    const inRun = (e: { at: number }) => e.at < stopAt;
    const byHolder = (kind: LifeEvent["kind"][]) => new Map(events.filter((e) => kind.includes(e.kind) && inRun(e)).map((e) => [`${e.key}/${e.holder}`, e]));

    const acquiredTruth = truth.filter((e) => e.kind === "acquired");
    const acquired = byHolder(["acquired"]);
    expect(acquiredTruth.length).toBeGreaterThan(10);
    expect(acquired.size).toBe(acquiredTruth.length);
    for (const t of acquiredTruth) {
      const got = acquired.get(`${t.lock}/${t.holderId}`);
      expect(got, `acquisition of ${t.lock} by ${t.holderId}`).toBeDefined();
      expect(Math.abs(got!.at - t.at)).toBeLessThanOrEqual(TOLERANCE_MS);
      expect(Math.abs((got!.waitMs ?? 0) - t.waitedMs)).toBeLessThanOrEqual(TOLERANCE_MS);
    }

    const releasedTruth = truth.filter((e): e is Extract<WorkloadLogEntry, { kind: "released" }> => e.kind === "released");
    const ended = byHolder(["released", "expired"]);
    expect(releasedTruth.length).toBeGreaterThan(5);
    for (const t of releasedTruth) {
      const got = ended.get(`${t.lock}/${t.holderId}`);
      expect(got, `release of ${t.lock} by ${t.holderId}`).toBeDefined();
      expect(got!.kind).toBe("released");
      expect(Math.abs(got!.holdMs! - t.heldMs)).toBeLessThanOrEqual(TOLERANCE_MS);
    }
    expect(events.every((e) => e.resMs === 0)).toBe(true);

    // The per-lock series agrees with the raw counts.
    const lock = acquiredTruth[0].lock;
    const h = await lockHistory(db, "mem", lock, window({ from: t0 - 1_000, to: stopAt, step: 1_000 }, stopAt));
    expect(h.acquisitions).toBe(acquiredTruth.filter((e) => e.lock === lock && e.at < stopAt).length);
    expect(h.segments.length).toBeGreaterThan(0);
  }, 30_000);
});

describe("recorder faults", () => {
  it("a data dir that cannot be created pauses history, leaves the live hub alone, and recording resumes by itself", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-hist-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    // A plain file where the data dir should be: mkdir fails with ENOTDIR, even for root.
    const blocker = path.join(dir, "blocked");
    writeFileSync(blocker, "not a directory");
    const { store, hub, recorder } = rig(path.join(blocker, "data"));
    await until(() => recorder.connections.get("mem")?.primed === true, 5_000, "first snapshot");
    expect(recorder.state()).toMatchObject({ paused: true });
    expect(recorder.state().message).toMatch(/ENOTDIR|not a directory/);
    store.acquire("a", { owner: "o", holderId: "h1", ttlMs: 5_000 });
    await until(() => hub.get("a") !== undefined, 2_000, "hub sees the lock while history is paused");
    store.release("a", "h1");
    await until(() => recorder.state().queued >= 2, 2_000, "events queued while paused");
    rmSync(blocker);
    mkdirSync(blocker);
    await until(() => !recorder.state().paused && recorder.state().queued === 0, 10_000, "resume");
    const got = await recorder.reader()!.events({ from: 0, to: Date.now() + 1 });
    expect(got.map((e) => e.kind)).toEqual(["acquired", "released"]);
  }, 20_000);
});

describe("recorder on PostgreSQL, server down", () => {
  it("pauses while PostgreSQL is down, keeps the live hub going, and writes what it queued once it is back", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-hist-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { store, hub, recorder } = rig(dir, pgStore);
    await until(() => recorder.connections.get("mem")?.primed === true, 5_000, "first snapshot");
    const t0 = Date.now();
    store.acquire("pg-down", { owner: "o", holderId: "h1", ttlMs: 5_000 });
    await until(async () => (await recorder.reader()!.events({ key: "pg-down", from: t0 - 1_000, to: Date.now() + 1 })).length === 1, 5_000, "first write");
    await pg!.pause();
    store.release("pg-down", "h1");
    await until(() => hub.get("pg-down") === undefined, 2_000, "hub sees the release while the database is down");
    await until(() => recorder.state().paused, 5_000, "paused");
    await pg!.start();
    await until(() => !recorder.state().paused && recorder.state().queued === 0, 15_000, "resume");
    const got = await recorder.reader()!.events({ key: "pg-down", from: t0 - 1_000, to: Date.now() + 1 });
    expect(got.map((e) => e.kind)).toEqual(["acquired", "released"]);
  }, 40_000);
});

describe("recorder: gaps follow the store's reachability", () => {
  const status = (status: ConnectionStatus, confirmedAt: string, extra: Record<string, unknown> = {}) => ({
    type: "status" as const,
    connection: "g",
    data: {
      connection: "g",
      status,
      mode: "live" as const,
      stale: status === "unreachable",
      staleAgeMs: null,
      lockCount: 1,
      observedAt: confirmedAt,
      now: new Date().toISOString(),
      confirmedAt,
      confirmedBy: "read" as const,
      confirmedAgeMs: 0,
      outageSince: status === "unreachable" ? confirmedAt : null,
      ...extra,
    },
  });
  const lock = (holder: string | null) => ({
    connection: "g",
    key: "k",
    name: "k",
    format: "t",
    kind: "mutex" as const,
    state: holder ? ("held" as const) : ("free" as const),
    holders: holder ? [{ id: holder, since: new Date().toISOString(), sinceSource: "store" as const }] : [],
    waiters: [],
    ttlMs: null,
    ttlSource: "none" as const,
    holding: { t: "none" },
    observedAt: new Date().toISOString(),
    consistency: "x",
    warnings: [],
  });

  it("a late, slow health answer before the re-list ('degraded', outage still open) leaves the gap open: what the re-list finds gone is lost", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-hist-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const bus = new EventBus();
    const recorder = new Recorder(bus, { records: () => [], get: () => undefined }, { dataDir: dir, settings: SETTINGS, flushEveryMs: 60_000 }).start();
    cleanup.push(() => recorder.stop());
    const before = new Date(Date.now() - 20_000).toISOString();
    const held = lock("h1");
    held.holders[0].since = new Date(Date.now() - 60_000).toISOString();
    bus.publish(status("ok", before));
    bus.publish({ type: "upsert", connection: "g", data: { connection: "g", lock: held } });
    bus.publish(status("unreachable", before));
    // What the hub publishes when a health check's answer comes late: slow, not yet re-listed.
    bus.publish(status("degraded", before, { stale: true, outageSince: before, message: "slow: the store took 6.9 s to answer its last read" }));
    expect(recorder.connections.get("g")?.outage).not.toBeNull();
    // The re-list: the lock is gone, then the status that ends the outage.
    bus.publish({ type: "remove", connection: "g", data: { connection: "g", key: "k" } });
    const back = new Date().toISOString();
    bus.publish(status("ok", back));
    expect(recorder.connections.get("g")?.outage).toBeNull();
    await recorder.flush();
    const evs = await recorder.reader()!.events({ key: "k", from: 0, to: Date.now() + 1 });
    expect(evs.map((e) => e.kind)).toEqual(["acquired", "lost"]);
    expect(await recorder.reader()!.gaps({ connection: "g", from: 0, to: Date.now() + 1 })).toMatchObject([
      { kind: "store-unreachable", from: Date.parse(before), to: Date.parse(back) },
    ]);
  });

  it("a store that comes back slow ('degraded') closes the gap: a later release is a release, not lost", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-hist-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const bus = new EventBus();
    const recorder = new Recorder(bus, { records: () => [], get: () => undefined }, { dataDir: dir, settings: SETTINGS, flushEveryMs: 60_000 }).start();
    cleanup.push(() => recorder.stop());
    const t = new Date().toISOString();
    bus.publish(status("ok", t));
    bus.publish({ type: "upsert", connection: "g", data: { connection: "g", lock: lock("h1") } });
    bus.publish(status("unreachable", t));
    expect(recorder.connections.get("g")?.outage).not.toBeNull();
    bus.publish(status("degraded", new Date().toISOString(), { message: "slow: the store took 2.5 s to answer its last read" }));
    expect(recorder.connections.get("g")?.outage).toBeNull();
    bus.publish({ type: "upsert", connection: "g", data: { connection: "g", lock: lock(null) } });
    await recorder.flush();
    const evs = await recorder.reader()!.events({ key: "k", from: 0, to: Date.now() + 1 });
    expect(evs.map((e) => e.kind)).toEqual(["acquired", "released"]);
    expect(await recorder.reader()!.gaps({ connection: "g", from: 0, to: Date.now() + 1 })).toMatchObject([
      { kind: "store-unreachable", to: expect.any(Number) },
    ]);
  });
});
