// The recorder keeps a held lock's expiry current from the renewals the hub reports (records
// replaced without a published change), not by comparing every record each tick: a release
// after a renewal must stay a release, an idle tick must not walk the records, and memos
// derived from a resync's records (which may have been renewed since) are checked in full.
// Events go through the bus as the hub publishes them; the recorder writes real SQLite.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { EventBus, type ConnectionStatusEvent } from "../hub/bus";
import type { Renewed } from "../hub/renewals";
import type { LockRecord } from "../model";
import { Recorder } from "./recorder";
import { SqliteHistoryStore } from "./sqlite";
import { HISTORY_SETTINGS, heldRecord } from "../../test/support/history";

const T0 = Date.parse("2026-12-05T00:00:00Z");
const iso = (t: number) => new Date(t).toISOString();

/** A lock held by `holder` since T0, read at `at` with `ttlMs` left: it expires at at + ttlMs. */
const rec = (key: string, holder: string, at: number, ttlMs: number) => heldRecord(key, holder, { since: T0, observedAt: at, ttlMs });

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A recorder on a hub-like source whose renewals the test hands out; flushes only when told. */
function rig() {
  const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-renewals-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const records = new Map<string, LockRecord>();
  const bus = new EventBus();
  const clock = { now: T0 };
  let renewed: Renewed = new Set<string>();
  let gets = 0;
  const recorder = new Recorder(
    bus,
    {
      records: () => records.values(),
      get: (_, k) => (gets++, records.get(k)),
      renewals: () => {
        const out = renewed;
        renewed = new Set();
        return out;
      },
    },
    { dataDir: dir, settings: HISTORY_SETTINGS, flushEveryMs: 3_600_000, now: () => clock.now },
  ).start();
  cleanup.push(() => recorder.stop());
  const status = (n: number) =>
    bus.publish({
      type: "status",
      connection: "c",
      data: { connection: "c", status: "ok", mode: "live", lockCount: n, observedAt: iso(clock.now), confirmedAt: iso(clock.now) } as ConnectionStatusEvent,
    });
  return {
    records,
    bus,
    clock,
    recorder,
    status,
    renew: (r: Renewed) => (renewed = r),
    gets: () => gets,
    upsert: (lock: LockRecord) => {
      records.set(lock.key, lock);
      bus.publish({ type: "upsert", connection: "c", data: { connection: "c", lock } });
    },
    remove: (key: string) => {
      records.delete(key);
      bus.publish({ type: "remove", connection: "c", data: { connection: "c", key } });
    },
    async kinds(key: string) {
      await recorder.flush();
      const store = new SqliteHistoryStore(path.join(dir, "history.sqlite"));
      try {
        return (await store.events({ from: 0, to: clock.now + 1 })).filter((e) => e.key === key).map((e) => e.kind);
      } finally {
        store.close();
      }
    },
  };
}

it("a renewal the hub reports keeps a release after the old expiry a release; one it does not report is taken for an expiry", async () => {
  const r = rig();
  r.status(0);
  for (const key of ["told", "untold"]) r.upsert(rec(key, "h", T0, 3_000)); // expire at T0 + 3 s
  r.clock.now = T0 + 2_500;
  // Both renewed for another 3 s (only the expiry moved: the hub publishes nothing); the hub
  // reports one of them.
  for (const key of ["told", "untold"]) r.records.set(key, rec(key, "h", T0 + 2_500, 3_000));
  r.renew(new Set(["told"]));
  await r.recorder.flush();
  r.clock.now = T0 + 4_000; // after the old expiry, before the renewed one
  r.remove("told");
  r.remove("untold");
  expect(await r.kinds("told")).toEqual(["acquired", "released"]);
  expect(await r.kinds("untold"), "the control: without the report the memo keeps the old expiry").toEqual(["acquired", "expired"]);
});

it("an idle tick asks the hub for no record; 'all' makes it look at every one", async () => {
  const r = rig();
  r.status(0);
  for (let i = 0; i < 50; i++) r.upsert(rec(`k${i}`, "h", T0, 60_000));
  await r.recorder.flush();
  const before = r.gets();
  await r.recorder.flush();
  await r.recorder.flush();
  expect(r.gets() - before).toBe(0);
  r.renew("all");
  await r.recorder.flush();
  expect(r.gets() - before).toBe(50);
});

it("memos derived from a resync's records are checked in full at the next tick: a renewal reported before its slice is not lost", async () => {
  const r = rig();
  const N = 5_000; // three slices of the resync
  for (let i = 0; i < N; i++) r.records.set(`k${i}`, rec(`k${i}`, `h${i}`, T0, 3_000));
  r.bus.publish({ type: "resync", connection: "c", data: { connection: "c" } });
  r.status(N);
  // Before the last slice runs, the hub renews the last lock and reports it; the tick that
  // reads the report finds no memo for it yet.
  const last = `k${N - 1}`;
  r.clock.now = T0 + 2_500;
  r.records.set(last, rec(last, `h${N - 1}`, T0 + 2_500, 3_000));
  r.renew(new Set([last]));
  await r.recorder.flush();
  expect(r.recorder.state().queued + r.recorder.state().written, "the tick ran before the resync was fully derived").toBeLessThan(N);
  const deadline = Date.now() + 10_000;
  while (r.recorder.state().queued + r.recorder.state().written < N) {
    if (Date.now() > deadline) throw new Error("the resync was not derived");
    await new Promise((res) => setImmediate(res));
  }
  // The slice derived the last lock from the resync's record (old expiry); the next tick, with
  // no renewal reported, still checks every memo and finds the renewed record.
  await r.recorder.flush();
  r.clock.now = T0 + 4_000;
  r.remove(last);
  expect(await r.kinds(last)).toEqual(["seen", "released"]);
});
