// Cumulative in-process counters behind /api/metrics. Prometheus counters must only grow, so
// these live in memory for the process lifetime (not re-read from the history store). Per-lock
// entries are capped (MAX_LOCKS, oldest-touched dropped); the exposition then emits only the
// top N by contention, so label cardinality stays bounded.

import { emptyHist, foldEvent, isEnd } from "./stats";
import type { LifeEvent } from "./types";

export interface LockCounters {
  connection: string;
  key: string;
  acquisitions: number;
  forceReleases: number;
  expiries: number;
  holdHist: number[];
  holdSumMs: number;
  waitHist: number[];
  waitSumMs: number;
}

const MAX_LOCKS = 20_000;

/** Whether foldEvent changes a lock's counters: a "seen", a waiter joining or a handover alone does not. */
function counts(e: LifeEvent): boolean {
  if (e.kind === "acquired" || e.kind === "force-released" || e.kind === "expired") return true;
  if (isEnd(e.kind) && e.holdMs !== undefined) return true;
  return e.kind === "waiter-left" && !!e.waitMs;
}

export class MetricsState {
  readonly locks = new Map<string, LockCounters>();
  readonly readErrors = new Map<string, number>();
  readonly events = new Map<string, number>();

  observe(e: LifeEvent): void {
    this.events.set(e.connection, (this.events.get(e.connection) ?? 0) + 1);
    // Only events that count make an entry: a first snapshot's 100k "seen" would otherwise churn
    // the LRU through 100k empty entries (and evict every lock that has counts).
    if (!counts(e)) return;
    const id = `${e.connection}\u0000${e.key}`;
    let c = this.locks.get(id);
    if (c)
      this.locks.delete(id); // re-insert: Map order = least recently touched first
    else
      c = {
        connection: e.connection,
        key: e.key,
        acquisitions: 0,
        forceReleases: 0,
        expiries: 0,
        holdHist: emptyHist(),
        holdSumMs: 0,
        waitHist: emptyHist(),
        waitSumMs: 0,
      };
    this.locks.set(id, c);
    if (this.locks.size > MAX_LOCKS) this.locks.delete(this.locks.keys().next().value!);
    foldEvent(c, e);
  }

  /** A failed force-release relabel arrives after observe(): move the count. */
  relabel(from: LifeEvent, to: LifeEvent): void {
    const c = this.locks.get(`${from.connection}\u0000${from.key}`);
    if (!c) return;
    if (from.kind === "expired") c.expiries--;
    if (to.kind === "force-released") c.forceReleases++;
  }

  readError(connection: string): void {
    this.readErrors.set(connection, (this.readErrors.get(connection) ?? 0) + 1);
  }

  /** The N locks with the most time spent waiting (then acquisitions). */
  top(n: number): LockCounters[] {
    return [...this.locks.values()].sort((a, b) => b.waitSumMs - a.waitSumMs || b.acquisitions - a.acquisitions).slice(0, n);
  }
}
