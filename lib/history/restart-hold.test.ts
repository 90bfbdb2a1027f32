// Audit F11: after a console restart, the end of a holding that was held all along must report
// the whole hold, not the time since the restart. Where the store keeps no start (Consul: the
// record's since is LockDeck's first sighting), the start is the one the previous process
// recorded. Two recorders, one after the other, on one real SQLite file; the restart is 2 min
// of downtime after a 17-min hold, then the holding ends 11.8 s after the new start (the audit's
// figures). Both orders of "first snapshot in" and "restart check done" are covered.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { EventBus, type ConnectionStatusEvent } from "../hub/bus";
import type { LockRecord } from "../model";
import { Recorder } from "./recorder";
import { SqliteHistoryStore } from "./sqlite";
import { HISTORY_SETTINGS, heldRecord } from "../../test/support/history";

const T0 = Date.parse("2026-12-05T00:00:00Z");
const MIN = 60_000;
const iso = (t: number) => new Date(t).toISOString();

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A Consul-like record: no TTL, and its since is the console's first sighting (at `seenAt`). */
function consulLike(seenAt: number): LockRecord {
  const r = heldRecord("locks/cons1/.lock", "bba826a5", { since: seenAt, observedAt: seenAt, ttlMs: null });
  r.holders[0].sinceObserved = true;
  return r;
}

function consoleRun(dir: string, clock: { now: number }) {
  const bus = new EventBus();
  const records = new Map<string, LockRecord>();
  const recorder = new Recorder(
    bus,
    { records: () => records.values(), get: (_, k) => records.get(k) },
    { dataDir: dir, settings: HISTORY_SETTINGS, flushEveryMs: 3_600_000, now: () => clock.now },
  ).start();
  const status = () =>
    bus.publish({
      type: "status",
      connection: "c",
      data: {
        connection: "c",
        status: "ok",
        mode: "live",
        lockCount: records.size,
        observedAt: iso(clock.now),
        confirmedAt: iso(clock.now),
      } as ConnectionStatusEvent,
    });
  return {
    recorder,
    status,
    upsert(lock: LockRecord) {
      records.set(lock.key, lock);
      bus.publish({ type: "upsert", connection: "c", data: { connection: "c", lock } });
    },
    remove(key: string) {
      records.delete(key);
      bus.publish({ type: "remove", connection: "c", data: { connection: "c", key } });
    },
  };
}

it.each([
  ["the restart check runs before the first snapshot is in", true],
  ["the first snapshot is in before the restart check runs", false],
])("a holding held across a restart reports its whole hold when it ends: %s", async (_, checkFirst) => {
  const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-restart-hold-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const clock = { now: T0 };
  const key = "locks/cons1/.lock";

  const first = consoleRun(dir, clock);
  first.status(); // primed, nothing held
  clock.now = T0 + 1_000;
  first.upsert(consulLike(clock.now)); // acquired at T0 + 1 s
  clock.now = T0 + 17 * MIN;
  await first.recorder.flush();
  await first.recorder.stop();

  clock.now = T0 + 19 * MIN; // down for 2 min
  const second = consoleRun(dir, clock);
  cleanup.push(() => second.recorder.stop());
  if (checkFirst) await second.recorder.flush();
  second.upsert(consulLike(clock.now)); // the first snapshot: since = this sighting
  second.status();
  if (!checkFirst) await second.recorder.flush();
  clock.now += 11_794;
  second.remove(key);
  await second.recorder.flush();

  const store = new SqliteHistoryStore(path.join(dir, "history.sqlite"));
  try {
    const ended = (await store.events({ from: 0, to: clock.now + 1 })).filter((e) => e.key === key && e.kind === "released");
    expect(ended).toHaveLength(1);
    expect(ended[0].holdMs).toBe(clock.now - (T0 + 1_000));
  } finally {
    store.close();
  }
});
