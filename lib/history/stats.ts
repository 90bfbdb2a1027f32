// Pure figures over life events: histograms, percentiles, minute roll-ups, Gantt segments.

import { BUCKETS_MS, type LifeEvent, type Rollup } from "./types";

export const emptyHist = (): number[] => new Array(BUCKETS_MS.length + 1).fill(0);

export function bucketIndex(ms: number): number {
  const i = BUCKETS_MS.findIndex((b) => ms <= b);
  return i === -1 ? BUCKETS_MS.length : i;
}

export function addHist(a: number[], b: number[]): number[] {
  return a.map((v, i) => v + (b[i] ?? 0));
}

/** Exact percentile (nearest rank) of raw values; null when there are none. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Percentile from a histogram: the upper bound of the bucket holding that rank (an over-estimate, as Prometheus does). */
export function histPercentile(hist: number[], p: number): number | null {
  const total = hist.reduce((s, v) => s + v, 0);
  if (total === 0) return null;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i];
    if (seen >= rank) return i < BUCKETS_MS.length ? BUCKETS_MS[i] : BUCKETS_MS[BUCKETS_MS.length - 1] * 2;
  }
  return null;
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** "exact" from raw events only; "bucketed" when older minute roll-ups contributed. */
  basis: "exact" | "bucketed";
}

/** Percentiles over raw values plus roll-up histograms (exact when there are no roll-ups). */
export function summarize(values: number[], hists: number[][]): Percentiles {
  const histCount = hists.reduce((s, h) => s + h.reduce((a, b) => a + b, 0), 0);
  if (histCount === 0) {
    const sorted = [...values].sort((a, b) => a - b);
    return { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), basis: "exact" };
  }
  let h = emptyHist();
  for (const x of hists) h = addHist(h, x);
  for (const v of values) h[bucketIndex(v)]++;
  return { count: values.length + histCount, p50: histPercentile(h, 50), p95: histPercentile(h, 95), p99: histPercentile(h, 99), basis: "bucketed" };
}

/** Ends with a known hold time ("lost" ends somewhere in a gap: not counted in hold figures). */
export const isEnd = (k: LifeEvent["kind"]) => k === "released" || k === "expired" || k === "force-released";
/** Every kind that ends a holding on the timeline. */
export const endsHolding = (k: LifeEvent["kind"]) => isEnd(k) || k === "lost";

/** Hold durations of ended holdings and wait durations of granted or abandoned waits. */
export function durations(events: LifeEvent[]): { hold: number[]; wait: number[] } {
  const hold: number[] = [];
  const wait: number[] = [];
  for (const e of events) {
    if (isEnd(e.kind) && e.holdMs !== undefined) hold.push(e.holdMs);
    if ((e.kind === "acquired" || e.kind === "waiter-left") && e.waitMs !== undefined && e.waitMs > 0) wait.push(e.waitMs);
  }
  return { hold, wait };
}

/** How many events of each counted kind a figure (roll-up, table row, chart bucket, counter) has seen. */
export interface EventCounts {
  acquisitions: number;
  handovers: number;
  forceReleases: number;
  expiries: number;
  /** Holdings that vanished in a gap. */
  lost: number;
}

const COUNTED: Partial<Record<LifeEvent["kind"], keyof EventCounts>> = {
  acquired: "acquisitions",
  handover: "handovers",
  "force-released": "forceReleases",
  expired: "expiries",
  lost: "lost",
};

/** Hold and wait times a figure sums and buckets (with their counts, where it keeps them). */
export interface DurationSums {
  holdHist: number[];
  holdSumMs: number;
  holdCount?: number;
  waitHist: number[];
  waitSumMs: number;
  waitCount?: number;
}

/**
 * The one fold of a life event into a figure. Counts its kind among the counts the figure keeps
 * (a field left out is not counted: a chart bucket keeps acquisitions and handovers only, a
 * roll-up no `lost`); and, for a figure with histograms, the hold time of an end with a known
 * hold and the wait time of a granted or abandoned wait (a wait of 0 ms is no wait).
 */
export function foldEvent(into: Partial<EventCounts> & Partial<DurationSums>, e: LifeEvent): void {
  const field = COUNTED[e.kind];
  if (field && into[field] !== undefined) into[field] = (into[field] as number) + 1;
  if (!into.holdHist || !into.waitHist) return;
  if (isEnd(e.kind) && e.holdMs !== undefined) {
    if (into.holdCount !== undefined) into.holdCount++;
    into.holdSumMs = (into.holdSumMs ?? 0) + e.holdMs;
    into.holdHist[bucketIndex(e.holdMs)]++;
  }
  if ((e.kind === "acquired" || e.kind === "waiter-left") && e.waitMs) {
    if (into.waitCount !== undefined) into.waitCount++;
    into.waitSumMs = (into.waitSumMs ?? 0) + e.waitMs;
    into.waitHist[bucketIndex(e.waitMs)]++;
  }
}

/** The counts of `events` by kind. */
export function countEvents(events: Iterable<LifeEvent>): EventCounts {
  const c: EventCounts = { acquisitions: 0, handovers: 0, forceReleases: 0, expiries: 0, lost: 0 };
  for (const e of events) foldEvent(c, e);
  return c;
}

/** Adds `from`'s counts (a roll-up's) to those `into` keeps. */
export function addCounts(into: Partial<EventCounts>, from: Partial<EventCounts>): void {
  for (const field of Object.values(COUNTED)) {
    if (into[field] !== undefined && from[field] !== undefined) into[field] = into[field] + from[field];
  }
}

/** Minute roll-ups of raw events (grouped by connection, key, minute). */
export function rollup(events: LifeEvent[]): Rollup[] {
  const out = new Map<string, Rollup>();
  for (const e of events) {
    const minute = Math.floor(e.at / 60_000) * 60_000;
    const id = `${e.connection}\u0000${e.key}\u0000${minute}`;
    let r = out.get(id);
    if (!r) {
      r = {
        connection: e.connection,
        key: e.key,
        minute,
        acquisitions: 0,
        handovers: 0,
        forceReleases: 0,
        expiries: 0,
        maxWaiters: 0,
        holdCount: 0,
        holdSumMs: 0,
        waitCount: 0,
        waitSumMs: 0,
        holdHist: emptyHist(),
        waitHist: emptyHist(),
      };
      out.set(id, r);
    }
    r.maxWaiters = Math.max(r.maxWaiters, e.waiters);
    foldEvent(r, e);
  }
  return [...out.values()];
}

export function mergeRollup(a: Rollup, b: Rollup): Rollup {
  const counts = { acquisitions: a.acquisitions, handovers: a.handovers, forceReleases: a.forceReleases, expiries: a.expiries };
  addCounts(counts, b);
  return {
    ...a,
    ...counts,
    maxWaiters: Math.max(a.maxWaiters, b.maxWaiters),
    holdCount: a.holdCount + b.holdCount,
    holdSumMs: a.holdSumMs + b.holdSumMs,
    waitCount: a.waitCount + b.waitCount,
    waitSumMs: a.waitSumMs + b.waitSumMs,
    holdHist: addHist(a.holdHist, b.holdHist),
    waitHist: addHist(a.waitHist, b.waitHist),
  };
}

export interface Segment {
  holder: string;
  owner?: string;
  start: number;
  /** null = still held at the end of the events. */
  end: number | null;
  endKind?: "released" | "expired" | "force-released" | "lost";
  /** lost: what is known of why (LifeEvent.cause). */
  cause?: string;
  /** The start is a first sighting (recording began while it was held), not an acquisition. */
  seen?: boolean;
}

/** Gantt segments of who held the lock when, from its events in time order. */
export function segments(events: LifeEvent[]): Segment[] {
  const open = new Map<string, Segment>();
  const done: Segment[] = [];
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    if ((e.kind === "acquired" || e.kind === "seen") && e.holder) {
      if (!open.has(e.holder)) open.set(e.holder, { holder: e.holder, owner: e.owner, start: e.at, end: null, seen: e.kind === "seen" || undefined });
    } else if (endsHolding(e.kind) && e.holder) {
      const s = open.get(e.holder) ?? { holder: e.holder, owner: e.owner, start: e.at - (e.holdMs ?? 0), end: null };
      open.delete(e.holder);
      done.push({ ...s, end: e.at, endKind: e.kind as Segment["endKind"], ...(e.cause && { cause: e.cause }) });
    }
  }
  return [...done, ...open.values()].sort((a, b) => a.start - b.start);
}
