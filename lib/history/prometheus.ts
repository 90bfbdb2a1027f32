// Prometheus text exposition (format 0.0.4) for GET /api/metrics. Pure: the route gathers
// per-connection figures from the hubs and per-lock counters from the recorder.
// Cardinality: per-lock series only for the top N locks by time spent waiting.

import type { LockCounters } from "./metrics-state";
import { BUCKETS_MS } from "./types";

export interface ConnectionFigures {
  id: string;
  kind: string;
  up: boolean;
  stale: boolean;
  staleAgeMs: number | null;
  mode: string;
  locks: number;
  held: number;
  contended: number;
  staleLocks: number;
  waiters: number;
  problems: number;
  readErrors: number;
  lifeEvents: number;
  /** Duration of the last full snapshot, null before the first. */
  snapshotSeconds: number | null;
}

export interface RecorderFigures {
  paused: boolean;
  queued: number;
  dropped: number;
  written: number;
}

const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(",")}}`;

/** One metric family (HELP, TYPE, one line per labelled value) appended to `out`. */
export function writeFamily(out: string[], name: string, type: string, help: string, rows: [Record<string, string>, number][]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [l, v] of rows) out.push(`${name}${Object.keys(l).length ? labels(l) : ""} ${Number.isFinite(v) ? v : 0}`);
}

export function exposition(conns: ConnectionFigures[], locks: LockCounters[], rec: RecorderFigures | null): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, rows: [Record<string, string>, number][]) => writeFamily(out, name, type, help, rows);
  const per = (f: (c: ConnectionFigures) => number) => conns.map((c): [Record<string, string>, number] => [{ connection: c.id, kind: c.kind }, f(c)]);
  family(
    "lockdeck_connection_up",
    "gauge",
    "1 when the last read of the store succeeded.",
    per((c) => (c.up ? 1 : 0)),
  );
  family(
    "lockdeck_connection_stale",
    "gauge",
    "1 when the shown snapshot is stale.",
    per((c) => (c.stale ? 1 : 0)),
  );
  family(
    "lockdeck_connection_snapshot_age_seconds",
    "gauge",
    "Time since the view was last confirmed (a read, or a health check while the feed is live), when stale (0 when fresh).",
    per((c) => (c.staleAgeMs ?? 0) / 1000),
  );
  family(
    "lockdeck_connection_live",
    "gauge",
    "1 when following the store's push feed, 0 when polling.",
    per((c) => (c.mode === "live" ? 1 : 0)),
  );
  family(
    "lockdeck_locks",
    "gauge",
    "Locks known (held, waited for or free-but-listed).",
    per((c) => c.locks),
  );
  family(
    "lockdeck_locks_held",
    "gauge",
    "Locks held now.",
    per((c) => c.held),
  );
  family(
    "lockdeck_locks_contended",
    "gauge",
    "Locks with waiters queued (named or only counted by the store), whatever their state word.",
    per((c) => c.contended),
  );
  family(
    "lockdeck_locks_stale",
    "gauge",
    "Locks whose holder looks abandoned (no expiry, not renewed).",
    per((c) => c.staleLocks),
  );
  family(
    "lockdeck_waiters",
    "gauge",
    "Waiters queued over all locks, named and only counted by the store.",
    per((c) => c.waiters),
  );
  family(
    "lockdeck_problems",
    "gauge",
    "Keys under lock patterns that could not be decoded.",
    per((c) => c.problems),
  );
  family(
    "lockdeck_read_errors_total",
    "counter",
    "Times the connection went unreachable.",
    per((c) => c.readErrors),
  );
  family(
    "lockdeck_snapshot_duration_seconds",
    "gauge",
    "How long the last full read of the store took.",
    conns.filter((c) => c.snapshotSeconds !== null).map((c): [Record<string, string>, number] => [{ connection: c.id, kind: c.kind }, c.snapshotSeconds!]),
  );
  family(
    "lockdeck_lock_events_total",
    "counter",
    "Lock life events derived by the history recorder.",
    per((c) => c.lifeEvents),
  );
  if (rec) {
    family("lockdeck_history_paused", "gauge", "1 when history cannot be written (recording resumes by itself).", [[{}, rec.paused ? 1 : 0]]);
    family("lockdeck_history_queued_events", "gauge", "Life events waiting to be written.", [[{}, rec.queued]]);
    family("lockdeck_history_dropped_events_total", "counter", "Life events dropped while paused (queue full).", [[{}, rec.dropped]]);
    family("lockdeck_history_written_events_total", "counter", "Life events written to the history store.", [[{}, rec.written]]);
  }
  const lk = (c: LockCounters) => ({ connection: c.connection, key: c.key });
  family(
    "lockdeck_lock_acquisitions_total",
    "counter",
    "Acquisitions of the most contended locks.",
    locks.map((c) => [lk(c), c.acquisitions]),
  );
  family(
    "lockdeck_lock_force_releases_total",
    "counter",
    "Force-releases (audited) of the most contended locks.",
    locks.map((c) => [lk(c), c.forceReleases]),
  );
  family(
    "lockdeck_lock_expiries_total",
    "counter",
    "Holdings that ended by running out their TTL.",
    locks.map((c) => [lk(c), c.expiries]),
  );
  histogram(out, "lockdeck_lock_hold_seconds", "How long holders held the most contended locks.", locks, (c) => [c.holdHist, c.holdSumMs]);
  histogram(out, "lockdeck_lock_wait_seconds", "How long waiters queued for the most contended locks.", locks, (c) => [c.waitHist, c.waitSumMs]);
  return out.join("\n") + "\n";
}

function histogram(out: string[], name: string, help: string, locks: LockCounters[], f: (c: LockCounters) => [number[], number]) {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
  for (const c of locks) {
    const [hist, sumMs] = f(c);
    let cum = 0;
    const l = { connection: c.connection, key: c.key };
    BUCKETS_MS.forEach((b, i) => {
      cum += hist[i];
      out.push(`${name}_bucket${labels({ ...l, le: String(b / 1000) })} ${cum}`);
    });
    cum += hist[BUCKETS_MS.length];
    out.push(`${name}_bucket${labels({ ...l, le: "+Inf" })} ${cum}`, `${name}_sum${labels(l)} ${sumMs / 1000}`, `${name}_count${labels(l)} ${cum}`);
  }
}
