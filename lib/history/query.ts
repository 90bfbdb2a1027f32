// The answers of GET /api/history and GET /api/contention/top, built from the history store:
// raw events where they are still kept, minute roll-ups where they have aged out (roll-ups
// are only made from deleted raw events, so the two never count the same thing twice).

import type { HistoryStore } from "./sqlite";
import { addCounts, countEvents, durations, foldEvent, isEnd, segments, summarize, type Percentiles, type Segment } from "./stats";
import type { HistorySettings, LifeEvent, Rollup } from "./types";
import type { CurrentWaits, HistoryGap } from "../api/types";

/** A waiter present now (named or anonymous), from the recorder's memos. */
export interface LiveWait {
  connection: string;
  key: string;
  since: number;
  anonymous: boolean;
}

/** What a query needs besides the store: the waits in progress and events not flushed yet. */
export interface LiveView {
  now: number;
  waits: LiveWait[];
  /** Events derived but not written yet (the recorder flushes once a second). */
  pending: LifeEvent[];
}

const NO_LIVE: LiveView = { now: 0, waits: [], pending: [] };

/** A wait as an interval: finished ones from their event (end − waitMs … end), ongoing ones since … now. */
interface Span {
  connection: string;
  key: string;
  start: number;
  end: number;
}

const isWaitEnd = (e: LifeEvent) => (e.kind === "acquired" || e.kind === "waiter-left") && (e.waitMs ?? 0) > 0;

function spansOf(events: LifeEvent[], waits: LiveWait[], now: number): Span[] {
  const out: Span[] = events.filter(isWaitEnd).map((e) => ({ connection: e.connection, key: e.key, start: e.at - e.waitMs!, end: e.at }));
  for (const w of waits) out.push({ connection: w.connection, key: w.key, start: w.since, end: Math.max(w.since, now) });
  return out;
}

/**
 * Adds a span to per-bucket figures: the time waited inside each bucket (ms) and the number of
 * waiters present in it. A wait shorter than a bucket still counts as present there.
 */
function spread(sp: Span, w: Window, n: number, ms: number[], present: number[]): number {
  const a = Math.max(sp.start, w.from);
  const b = Math.min(sp.end, w.to);
  if (b < a || sp.end < w.from || sp.start >= w.to) return 0;
  const first = Math.min(n - 1, Math.floor((a - w.from) / w.step));
  const last = Math.min(n - 1, Math.floor((Math.max(a, b - 1) - w.from) / w.step));
  for (let i = first; i <= last; i++) {
    const lo = Math.max(a, w.from + i * w.step);
    const hi = Math.min(b, w.from + (i + 1) * w.step);
    ms[i] += Math.max(0, hi - lo);
    present[i]++;
  }
  return b - a;
}

/** Waiting now, the longest current wait, and how many of them are anonymous. */
export function currentWaits(waits: LiveWait[], now: number): CurrentWaits {
  const oldest = waits.reduce((m, x) => Math.min(m, x.since), Infinity);
  return {
    waitingNow: waits.length,
    longestCurrentWaitMs: waits.length ? Math.max(0, now - oldest) : null,
    anonymous: waits.filter((x) => x.anonymous).length,
  };
}

/** Events in [from, to) from the store plus the ones not flushed yet. */
async function eventsWithPending(
  store: HistoryStore,
  live: LiveView,
  q: { connection?: string; key?: string; from: number; to: number; kinds?: LifeEvent["kind"][] },
) {
  const stored = await store.events(q);
  const extra = live.pending.filter(
    (e) =>
      e.at >= q.from &&
      e.at < q.to &&
      (q.connection === undefined || e.connection === q.connection) &&
      (q.key === undefined || e.key === q.key) &&
      (!q.kinds || q.kinds.includes(e.kind)),
  );
  return extra.length ? [...stored, ...extra].sort((a, b) => a.at - b.at) : stored;
}

/** How far back to look for the acquisition of a holding still open at `from`. */
const LOOKBACK_MS = 6 * 3_600_000;
const MAX_BUCKETS = 2_000;

export interface Window {
  from: number;
  to: number;
  step: number;
}

/** Defaults: the last 15 minutes, about 60 buckets; step never makes more than MAX_BUCKETS. */
/** The window asked for: `span` ms up to `to` (default the server's now) unless `from` is given; 15 min by default. */
export function window(q: { from?: number; to?: number; span?: number; step?: number }, now: number): Window {
  const to = q.to ?? now;
  const from = q.from ?? to - (q.span ?? 15 * 60_000);
  if (!(from < to)) throw new RangeError("from must be before to");
  const min = Math.ceil((to - from) / MAX_BUCKETS);
  const step = Math.max(q.step ?? Math.ceil((to - from) / 60 / 1000) * 1000, min, 1000);
  return { from, to, step };
}

export interface LockHistory extends Window, CurrentWaits {
  connection: string;
  key: string;
  segments: Segment[];
  /**
   * Per bucket: start time, acquisitions, handovers, the deepest queue seen, time waited in the
   * bucket (ms, waits in progress included) and how many waiters were present in it.
   */
  buckets: { t: number; acquisitions: number; handovers: number; maxWaiters: number; waitMs: number; waiting: number }[];
  hold: Percentiles;
  /** Finished waits only (a wait in progress has no length yet: see longestCurrentWaitMs). */
  wait: Percentiles;
  /** Time spent waiting in the window, finished and ongoing waits together (ms). */
  waitedTotalMs: number;
  acquisitions: number;
  handovers: number;
  handoversPerMin: number;
  forceReleases: number;
  expiries: number;
  /** Holdings that vanished in a gap (not counted as releases). */
  lost: number;
  /** Gaps in the window: the store out of sight, or the console down (marked, not skipped). */
  gaps: HistoryGap[];
  /** The newest events in the window, newest first (at most 200). */
  recent: LifeEvent[];
}

export async function lockHistory(store: HistoryStore, connection: string, key: string, w: Window, live: LiveView = NO_LIVE): Promise<LockHistory> {
  const all = await eventsWithPending(store, live, { connection, key, from: w.from - LOOKBACK_MS, to: w.to });
  // Waits that began in the window and ended after it still count in it.
  const later =
    w.to < live.now
      ? await eventsWithPending(store, live, {
          connection,
          key,
          from: w.to,
          to: Math.min(live.now, w.to + LOOKBACK_MS) + 1,
          kinds: ["acquired", "waiter-left"],
        })
      : [];
  const inWin = all.filter((e) => e.at >= w.from);
  const rolls = await store.rollups({ connection, key, from: w.from, to: w.to });
  const gaps = await store.gaps({ connection, from: w.from, to: w.to });
  const n = Math.ceil((w.to - w.from) / w.step);
  const buckets = Array.from({ length: n }, (_, i) => ({ t: w.from + i * w.step, acquisitions: 0, handovers: 0, maxWaiters: 0, waitMs: 0, waiting: 0 }));
  const at = (t: number) => buckets[Math.min(n - 1, Math.floor((t - w.from) / w.step))];
  // Queue depth carries forward between events: a bucket with no event keeps the last depth.
  let depth = [...all].reverse().find((e) => e.at < w.from)?.waiters ?? 0;
  let ei = 0;
  for (const b of buckets) {
    b.maxWaiters = depth;
    while (ei < inWin.length && inWin[ei].at < b.t + w.step) {
      const e = inWin[ei++];
      depth = e.waiters;
      b.maxWaiters = Math.max(b.maxWaiters, depth);
      foldEvent(b, e);
    }
  }
  const ms = new Array<number>(n).fill(0);
  const present = new Array<number>(n).fill(0);
  const waits = live.waits.filter((x) => x.connection === connection && x.key === key);
  let waitedTotalMs = 0;
  for (const sp of spansOf([...all, ...later], waits, live.now)) waitedTotalMs += spread(sp, w, n, ms, present);
  buckets.forEach((b, i) => {
    b.waitMs = ms[i];
    b.waiting = present[i];
    b.maxWaiters = Math.max(b.maxWaiters, present[i]);
  });
  for (const r of rolls) {
    const b = at(r.minute);
    addCounts(b, r);
    b.maxWaiters = Math.max(b.maxWaiters, r.maxWaiters);
    b.waitMs += r.waitSumMs;
    waitedTotalMs += r.waitSumMs;
  }
  const { hold, wait } = durations(inWin);
  const counts = countEvents(inWin);
  for (const r of rolls) addCounts(counts, r);
  const { handovers } = counts;
  const clip = (s: Segment) => (s.end === null || s.end > w.from) && s.start < w.to;
  return {
    connection,
    key,
    ...w,
    segments: segments(all).filter(clip),
    buckets,
    hold: summarize(
      hold,
      rolls.map((r) => r.holdHist),
    ),
    wait: summarize(
      wait,
      rolls.map((r) => r.waitHist),
    ),
    waitedTotalMs,
    ...currentWaits(waits, live.now),
    acquisitions: counts.acquisitions,
    handovers,
    handoversPerMin: round2(handovers / ((w.to - w.from) / 60_000)),
    forceReleases: counts.forceReleases,
    expiries: counts.expiries,
    lost: counts.lost,
    gaps,
    recent: inWin.slice(-200).reverse(),
  };
}

export interface TopRow extends CurrentWaits {
  connection: string;
  key: string;
  /** Total time spent waiting for this lock in the window (ms), waits in progress included: the ranking. */
  waitMs: number;
  /** Waits that overlap the window (finished or in progress). */
  waits: number;
  acquisitions: number;
  handovers: number;
  maxWaiters: number;
  forceReleases: number;
  expiries: number;
  lost: number;
  /** Per bucket of the window: time waited in it (ms), waits in progress included. The heatmap row. */
  cells: number[];
  /** Per bucket: how many waiters were present in it (a waiter shorter than a bucket counts). */
  cellWaiters: number[];
}

export interface Incident {
  at: number;
  connection: string;
  key: string;
  kind: "force-released" | "expired" | "long-hold" | "long-wait" | "lost";
  holder?: string;
  owner?: string;
  ms?: number;
  /** long-wait: the waiter is still waiting (ms is its wait so far). */
  ongoing?: boolean;
  /** lost: what is known of why; expired: "holder-gone" when its client was seen gone (LifeEvent.cause). */
  cause?: string;
}

export async function contentionTop(
  store: HistoryStore,
  w: Window,
  limit: number,
  s: Pick<HistorySettings, "longHoldMs" | "longWaitMs">,
  live: LiveView = NO_LIVE,
) {
  const events = await eventsWithPending(store, live, { from: w.from, to: w.to });
  const later =
    w.to < live.now
      ? await eventsWithPending(store, live, { from: w.to, to: Math.min(live.now, w.to + LOOKBACK_MS) + 1, kinds: ["acquired", "waiter-left"] })
      : [];
  const rolls = await store.rollups({ from: w.from, to: w.to });
  const gaps = await store.gaps({ from: w.from, to: w.to });
  const n = Math.ceil((w.to - w.from) / w.step);
  const rows = new Map<string, TopRow>();
  const row = (connection: string, key: string) => {
    const id = `${connection}\u0000${key}`;
    let r = rows.get(id);
    if (!r) {
      rows.set(
        id,
        (r = {
          connection,
          key,
          waitMs: 0,
          waits: 0,
          acquisitions: 0,
          handovers: 0,
          maxWaiters: 0,
          forceReleases: 0,
          expiries: 0,
          lost: 0,
          cells: new Array(n).fill(0),
          cellWaiters: new Array(n).fill(0),
          waitingNow: 0,
          longestCurrentWaitMs: null,
          anonymous: 0,
        }),
      );
    }
    return r;
  };
  const cell = (t: number) => Math.min(n - 1, Math.max(0, Math.floor((t - w.from) / w.step)));
  const incidents: Incident[] = [];
  for (const e of events) {
    const r = row(e.connection, e.key);
    r.maxWaiters = Math.max(r.maxWaiters, e.waiters);
    foldEvent(r, e);
    const base = { at: e.at, connection: e.connection, key: e.key, holder: e.holder, owner: e.owner };
    if (e.kind === "force-released") incidents.push({ ...base, kind: e.kind, ms: e.holdMs });
    else if (e.kind === "expired") incidents.push({ ...base, kind: e.kind, ms: e.holdMs, ...(e.cause && { cause: e.cause }) });
    else if (e.kind === "lost") incidents.push({ ...base, kind: "lost", ms: e.holdMs, cause: e.cause });
    else if (isEnd(e.kind) && (e.holdMs ?? 0) > s.longHoldMs) incidents.push({ ...base, kind: "long-hold", ms: e.holdMs });
    else if ((e.kind === "acquired" || e.kind === "waiter-left") && (e.waitMs ?? 0) > s.longWaitMs)
      incidents.push({ ...base, kind: "long-wait", ms: e.waitMs });
  }
  // Every wait overlapping the window, finished or in progress, colours the buckets it spans.
  for (const sp of spansOf([...events, ...later], live.waits, live.now)) {
    const r = row(sp.connection, sp.key);
    const t = spread(sp, w, n, r.cells, r.cellWaiters);
    if (t > 0 || (sp.end >= w.from && sp.start < w.to)) {
      r.waitMs += t;
      r.waits++;
    }
  }
  const byLock = new Map<string, LiveWait[]>();
  for (const x of live.waits) {
    const id = `${x.connection}\u0000${x.key}`;
    byLock.set(id, [...(byLock.get(id) ?? []), x]);
  }
  for (const ws of byLock.values()) {
    const r = row(ws[0].connection, ws[0].key);
    Object.assign(r, currentWaits(ws, live.now));
    r.maxWaiters = Math.max(r.maxWaiters, ws.length);
    if ((r.longestCurrentWaitMs ?? 0) > s.longWaitMs) {
      const oldest = ws.reduce((a, b) => (b.since < a.since ? b : a));
      incidents.push({ at: oldest.since, connection: r.connection, key: r.key, kind: "long-wait", ms: r.longestCurrentWaitMs!, ongoing: true });
    }
  }
  for (const r of rows.values()) r.cellWaiters.forEach((c) => (r.maxWaiters = Math.max(r.maxWaiters, c)));
  for (const ru of rolls) addRollup(row(ru.connection, ru.key), ru, cell(ru.minute));
  const top = [...rows.values()]
    .filter((r) => r.waitMs > 0 || r.acquisitions > 0 || r.maxWaiters > 0 || r.waitingNow > 0)
    .sort((a, b) => b.waitMs - a.waitMs || b.waitingNow - a.waitingNow || b.maxWaiters - a.maxWaiters || b.acquisitions - a.acquisitions)
    .slice(0, limit);
  incidents.sort((a, b) => a.at - b.at);
  return { ...w, locks: top, incidents: incidents.reverse().slice(0, 200), gaps };
}

function addRollup(r: TopRow, ru: Rollup, i: number) {
  r.waitMs += ru.waitSumMs;
  r.waits += ru.waitCount;
  addCounts(r, ru);
  r.maxWaiters = Math.max(r.maxWaiters, ru.maxWaiters);
  r.cells[i] += ru.waitSumMs;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
