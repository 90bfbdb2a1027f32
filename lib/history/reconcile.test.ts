// The recorder derives a resync (a first snapshot of 100k locks is one) in slices after the
// hub's refresh has returned. What it records must be what a derivation on the spot would
// have recorded: every lock of the first snapshot "seen" (the baseline), even the ones whose
// turn comes after the status that ends the baseline, and a change that arrives before a
// lock's turn comes after that lock's part of the resync. The events go through the bus as
// the hub publishes them (resync, then status, then changes, in one synchronous run) and the
// recorder writes them to a real SQLite file.

import { mkdtempSync, rmSync } from "node:fs";
import Database from "better-sqlite3";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { EventBus, type ConnectionStatusEvent } from "../hub/bus";
import type { LockRecord } from "../model";
import { Recorder, type RecorderOptions } from "./recorder";
import { SqliteHistoryStore } from "./sqlite";
import { HISTORY_SETTINGS, heldRecord } from "../../test/support/history";

const N = 5_000; // more than two slices
const T0 = Date.parse("2026-12-05T00:00:00Z");
const iso = (t: number) => new Date(t).toISOString();

const rec = (key: string, holder: string, at: number) => heldRecord(key, holder, { since: at, observedAt: at, ttlMs: null });

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A recorder writing real SQLite in a temp dir, over a hub-like source holding `records`. */
function recorderOver(records: Map<string, LockRecord>, opts: Partial<RecorderOptions>) {
  const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-reconcile-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const bus = new EventBus();
  const recorder = new Recorder(
    bus,
    { records: () => records.values(), get: (_, k) => records.get(k) },
    { dataDir: dir, settings: HISTORY_SETTINGS, flushEveryMs: 3_600_000, now: () => T0 + 1_000, ...opts },
  ).start();
  cleanup.push(() => recorder.stop());
  return { dir, bus, recorder };
}

it("a resync derived in slices records what it held then: all 'seen', and a change before a lock's turn after its part", async () => {
  const records = new Map<string, LockRecord>();
  for (let i = 0; i < N; i++) records.set(`k${i}`, rec(`k${i}`, `h${i}`, T0));
  let now = T0 + 1_000;
  const { dir, bus, recorder } = recorderOver(records, { now: () => now });

  // The hub's first refresh: the resync hint, then its status (the baseline ends), then — still
  // before any slice ran — the last lock changes hands and another goes away.
  const status = { connection: "c", status: "ok", mode: "live", lockCount: N, observedAt: iso(now), confirmedAt: iso(now) } as ConnectionStatusEvent;
  bus.publish({ type: "resync", connection: "c", data: { connection: "c" } });
  bus.publish({ type: "status", connection: "c", data: status });
  now += 500;
  const last = `k${N - 1}`;
  records.set(last, rec(last, "new-holder", now));
  bus.publish({ type: "upsert", connection: "c", data: { connection: "c", lock: records.get(last)! } });
  records.delete("k4000");
  bus.publish({ type: "remove", connection: "c", data: { connection: "c", key: "k4000" } });
  expect(recorder.state().queued, "nothing but the changes is derived inside the hub's refresh").toBeLessThan(10);

  const deadline = Date.now() + 10_000;
  while (recorder.state().written < N + 2) {
    if (Date.now() > deadline) throw new Error(`only ${recorder.state().written} events written`);
    await recorder.flush();
    await new Promise((r) => setImmediate(r));
  }
  const store = new SqliteHistoryStore(path.join(dir, "history.sqlite"));
  cleanup.push(() => store.close());
  const events = await store.events({ from: 0, to: now + 1 });
  const kinds = (key: string) => events.filter((e) => e.key === key).map((e) => `${e.kind}:${e.holder}`);
  expect(events.filter((e) => e.kind === "seen")).toHaveLength(N);
  expect(events.filter((e) => e.kind === "acquired").map((e) => e.holder)).toEqual(["new-holder"]);
  expect(kinds("k1")).toEqual(["seen:h1"]);
  expect(kinds("k2500")).toEqual(["seen:h2500"]);
  expect(kinds(last).sort()).toEqual(["acquired:new-holder", "handover:new-holder", `released:h${N - 1}`, `seen:h${N - 1}`].sort());
  expect(kinds("k4000").sort()).toEqual(["released:h4000", "seen:h4000"]);
});

it("the first derivation is written in key order (SQLite appends to its key index instead of inserting at random)", async () => {
  const records = new Map<string, LockRecord>();
  // The hub's order is the store's (SCAN order: no order at all).
  for (let i = 0; i < N; i++) {
    const key = `k${(i * 7919) % N}`;
    records.set(key, rec(key, `h${i}`, T0));
  }
  const { dir, bus, recorder } = recorderOver(records, {});
  bus.publish({ type: "resync", connection: "c", data: { connection: "c" } });
  const deadline = Date.now() + 10_000;
  while (recorder.state().written < N) {
    if (Date.now() > deadline) throw new Error(`only ${recorder.state().written} events written`);
    await recorder.flush();
    await new Promise((r) => setImmediate(r));
  }
  const db = new Database(path.join(dir, "history.sqlite"), { readonly: true });
  cleanup.push(() => void db.close());
  const written = (db.prepare("SELECT key FROM events WHERE kind = 'seen' ORDER BY rowid").all() as { key: string }[]).map((r) => r.key);
  expect(written).toHaveLength(N);
  expect(written).toEqual([...records.keys()].sort());
});

it("a first snapshot larger than the queue is derived at the writer's pace: every 'seen' is written, none dropped", async () => {
  const records = new Map<string, LockRecord>();
  for (let i = 0; i < N; i++) records.set(`k${i}`, rec(`k${i}`, `h${i}`, T0));
  // The queue holds a fifth of the snapshot; the writer runs on its own (every 20 ms).
  const { bus, recorder } = recorderOver(records, { flushEveryMs: 20, maxQueue: N / 5 });
  bus.publish({ type: "resync", connection: "c", data: { connection: "c" } });
  const deadline = Date.now() + 15_000;
  while (recorder.state().written + recorder.state().dropped < N) {
    if (Date.now() > deadline) throw new Error(`only ${recorder.state().written} events written`);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(recorder.state(), JSON.stringify(recorder.state())).toMatchObject({ written: N, dropped: 0 });
});

it("a query while a first snapshot larger than the queue is being derived loses nothing: what it derives at once is not trimmed", async () => {
  const records = new Map<string, LockRecord>();
  for (let i = 0; i < N; i++) records.set(`k${i}`, rec(`k${i}`, `h${i}`, T0));
  const { bus, recorder } = recorderOver(records, { flushEveryMs: 20, maxQueue: N / 5 });
  bus.publish({ type: "resync", connection: "c", data: { connection: "c" } });
  // A history query before any slice ran: every lock's part of the resync is derived now, five
  // times the queue's cap, while the store is writing.
  expect(recorder.liveView().pending.length).toBe(N);
  const deadline = Date.now() + 15_000;
  while (recorder.state().written + recorder.state().dropped < N) {
    if (Date.now() > deadline) throw new Error(`only ${recorder.state().written} events written`);
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(recorder.state(), JSON.stringify(recorder.state())).toMatchObject({ written: N, dropped: 0 });
});
