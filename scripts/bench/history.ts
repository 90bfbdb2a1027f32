// Recorder overhead at a steady 1,000 lock events per second (issue 6). Exported for
// scripts/bench/run.ts (owned elsewhere); runnable alone: `npx tsx scripts/bench/history.ts`.
//
// Events are hub-shaped upserts/removes on one bus: each of `locks` mutex locks cycles
// acquire → waiter joins → handover → release. We measure, against the same run with no
// recorder subscribed: process CPU per second of wall time, the synchronous cost per event on
// the publish path (what the live console pays), the flush time per one-second batch, and
// the SQLite growth per event.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EventBus } from "../../lib/hub/bus";
import type { LockRecord } from "../../lib/model";
import { Recorder } from "../../lib/history/recorder";
import { HISTORY_SETTINGS } from "../../test/support/history";

export interface HistoryBenchFigures {
  eventsPerSecond: number;
  seconds: number;
  events: number;
  /** CPU ms per wall second, with and without the recorder. */
  cpuMsPerSecBaseline: number;
  cpuMsPerSecWithRecorder: number;
  /** Synchronous recorder cost per bus event (µs), measured on the publish path. */
  publishUsPerEvent: number;
  /** Flush (one SQLite transaction per second) duration, ms. */
  flushMsP50: number;
  flushMsMax: number;
  dbBytesPerEvent: number;
  lifeEventsWritten: number;
  /** Events the recorder dropped (queue overflow) and whether it paused (store failure). */
  dropped: number;
  paused: boolean;
  flushes: number;
  /** Bus events published while the recorder was subscribed. */
  eventsWithRecorder: number;
}

const SETTINGS = HISTORY_SETTINGS;

function lockRec(key: string, holder: string | null, waiters: string[], now: number): LockRecord {
  return {
    connection: "bench",
    key,
    name: key,
    format: "memory.mutex",
    kind: "mutex",
    state: holder ? "held" : "free",
    holders: holder ? [{ id: holder, owner: `svc ${holder}`, since: new Date(now).toISOString() }] : [],
    waiters: waiters.map((id, position) => ({ id, position, since: new Date(now).toISOString() })),
    ttlMs: 30_000,
    ttlSource: "lease",
    holding: { holder },
    observedAt: new Date(now).toISOString(),
    consistency: "bench",
    warnings: [],
  };
}

/** Drives `rate` events/s for `seconds` through `bus`; returns CPU ms used per wall second. */
async function drive(
  bus: EventBus,
  rate: number,
  seconds: number,
  locks: number,
  onTick?: () => void,
): Promise<{ cpuMsPerSec: number; events: number; publishMs: number }> {
  const state = Array.from({ length: locks }, (_, i) => ({ key: `bench:lock:${i}`, step: 0, n: 0 }));
  const tickMs = 10;
  const perTick = Math.round((rate * tickMs) / 1000);
  let events = 0;
  let publishMs = 0;
  let cursor = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let next = t0;
  while (performance.now() < end) {
    const p0 = performance.now();
    for (let i = 0; i < perTick; i++) {
      const s = state[cursor++ % locks];
      const now = Date.now();
      const h = (k: number) => `${s.key}#${k}`;
      // acquire(h0) → waiter h1 joins → handover to h1 → release → (repeat)
      if (s.step === 0) bus.publish({ type: "upsert", connection: "bench", data: { connection: "bench", lock: lockRec(s.key, h(s.n), [], now) } });
      else if (s.step === 1)
        bus.publish({ type: "upsert", connection: "bench", data: { connection: "bench", lock: lockRec(s.key, h(s.n), [h(s.n + 1)], now) } });
      else if (s.step === 2) bus.publish({ type: "upsert", connection: "bench", data: { connection: "bench", lock: lockRec(s.key, h(s.n + 1), [], now) } });
      else bus.publish({ type: "remove", connection: "bench", data: { connection: "bench", key: s.key } });
      s.step = (s.step + 1) % 4;
      if (s.step === 0) s.n += 2;
      events++;
    }
    publishMs += performance.now() - p0;
    onTick?.();
    next += tickMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMsPerSec: (cpu.user + cpu.system) / 1000 / wall, events, publishMs };
}

export async function benchHistory(opts: { rate?: number; seconds?: number; locks?: number } = {}): Promise<HistoryBenchFigures> {
  const rate = opts.rate ?? 1_000;
  const seconds = opts.seconds ?? 5;
  const locks = opts.locks ?? 200;

  const baseline = await drive(new EventBus(), rate, seconds, locks);

  const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-bench-history-"));
  try {
    const bus = new EventBus();
    const recorder = new Recorder(bus, { records: () => [], get: () => undefined }, { dataDir: dir, settings: SETTINGS, flushEveryMs: 3_600_000 });
    recorder.start();
    // The connection's first snapshot is done: changes are real acquisitions, not "seen".
    bus.publish({
      type: "status",
      connection: "bench",
      data: {
        connection: "bench",
        status: "ok",
        mode: "live",
        stale: false,
        staleAgeMs: null,
        lockCount: 0,
        observedAt: new Date().toISOString(),
        now: new Date().toISOString(),
        confirmedAt: new Date().toISOString(),
        confirmedBy: "read",
        confirmedAgeMs: 0,
        outageSince: null,
      },
    });
    const flushes: number[] = [];
    let lastFlush = performance.now();
    let pending: Promise<void> | null = null;
    const withRec = await drive(bus, rate, seconds, locks, () => {
      // Flush once a second, timed (the recorder's own timer is disabled above).
      if (!pending && performance.now() - lastFlush >= 1_000) {
        lastFlush = performance.now();
        const f0 = performance.now();
        pending = recorder.flush().then(() => {
          flushes.push(performance.now() - f0);
          pending = null;
        });
      }
    });
    await pending;
    await recorder.flush();
    const st = recorder.state();
    const written = st.written;
    await recorder.stop();
    const file = path.join(dir, "history.sqlite");
    const bytes =
      statSync(file).size +
      (() => {
        try {
          return statSync(`${file}-wal`).size;
        } catch {
          return 0;
        }
      })();
    flushes.sort((a, b) => a - b);
    return {
      eventsPerSecond: rate,
      seconds,
      events: withRec.events,
      cpuMsPerSecBaseline: round(baseline.cpuMsPerSec),
      cpuMsPerSecWithRecorder: round(withRec.cpuMsPerSec),
      publishUsPerEvent: round(((withRec.publishMs - baseline.publishMs) / withRec.events) * 1000),
      flushMsP50: round(flushes[Math.floor(flushes.length / 2)] ?? 0),
      flushMsMax: round(flushes.at(-1) ?? 0),
      dbBytesPerEvent: round(bytes / Math.max(1, written)),
      lifeEventsWritten: written,
      dropped: st.dropped,
      paused: st.paused,
      flushes: flushes.length,
      eventsWithRecorder: withRec.events,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

if (process.argv[1] && /history\.ts$/.test(process.argv[1])) {
  benchHistory().then((f) => console.log(JSON.stringify(f, null, 2)));
}
