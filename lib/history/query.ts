// The answers of GET /api/history and GET /api/contention/top, built from the history store:
// raw events where they are still kept, minute roll-ups where they have aged out (roll-ups
// are only made from deleted raw events, so the two never count the same thing twice).

import type { HistoryStore } from "./sqlite";
import { durations, isEnd, segments, summarize, type Percentiles, type Segment } from "./stats";
import type { HistorySettings, LifeEvent, Rollup } from "./types";

/** How far back to look for the acquisition of a holding still open at `from`. */
const LOOKBACK_MS = 6 * 3_600_000;
const MAX_BUCKETS = 2_000;

export interface Window {
  from: number;
  to: number;
  step: number;
}

/** Defaults: the last 15 minutes, about 60 buckets; step never makes more than MAX_BUCKETS. */
export function window(q: { from?: number; to?: number; step?: number }, now: number): Window {
  const to = q.to ?? now;
  const from = q.from ?? to - 15 * 60_000;
  if (!(from < to)) throw new RangeError("from must be before to");
  const min = Math.ceil((to - from) / MAX_BUCKETS);
  const step = Math.max(q.step ?? Math.ceil((to - from) / 60 / 1000) * 1000, min, 1000);
  return { from, to, step };
}

export interface LockHistory extends Window {
  connection: string;
  key: string;
  segments: Segment[];
  /** Per bucket: start time, acquisitions, handovers, the deepest queue seen, time waited (ms). */
  buckets: { t: number; acquisitions: number; handovers: number; maxWaiters: number; waitMs: number }[];
  hold: Percentiles;
  wait: Percentiles;
  acquisitions: number;
  handovers: number;
  handoversPerMin: number;
  forceReleases: number;
  expiries: number;
  /** The newest events in the window, newest first (at most 200). */
  recent: LifeEvent[];
}

export async function lockHistory(store: HistoryStore, connection: string, key: string, w: Window): Promise<LockHistory> {
  const all = await store.events({ connection, key, from: w.from - LOOKBACK_MS, to: w.to });
  const inWin = all.filter((e) => e.at >= w.from);
  const rolls = await store.rollups({ connection, key, from: w.from, to: w.to });
  const n = Math.ceil((w.to - w.from) / w.step);
  const buckets = Array.from({ length: n }, (_, i) => ({ t: w.from + i * w.step, acquisitions: 0, handovers: 0, maxWaiters: 0, waitMs: 0 }));
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
      if (e.kind === "acquired") b.acquisitions++;
      if (e.kind === "handover") b.handovers++;
      if ((e.kind === "acquired" || e.kind === "waiter-left") && e.waitMs) b.waitMs += e.waitMs;
    }
  }
  for (const r of rolls) {
    const b = at(r.minute);
    b.acquisitions += r.acquisitions;
    b.handovers += r.handovers;
    b.maxWaiters = Math.max(b.maxWaiters, r.maxWaiters);
    b.waitMs += r.waitSumMs;
  }
  const { hold, wait } = durations(inWin);
  const count = (k: LifeEvent["kind"]) => inWin.filter((e) => e.kind === k).length;
  const handovers = count("handover") + sum(rolls, (r) => r.handovers);
  const clip = (s: Segment) => (s.end === null || s.end > w.from) && s.start < w.to;
  return {
    connection,
    key,
    ...w,
    segments: segments(all).filter(clip),
    buckets,
    hold: summarize(hold, rolls.map((r) => r.holdHist)),
    wait: summarize(wait, rolls.map((r) => r.waitHist)),
    acquisitions: count("acquired") + sum(rolls, (r) => r.acquisitions),
    handovers,
    handoversPerMin: round2(handovers / ((w.to - w.from) / 60_000)),
    forceReleases: count("force-released") + sum(rolls, (r) => r.forceReleases),
    expiries: count("expired") + sum(rolls, (r) => r.expiries),
    recent: inWin.slice(-200).reverse(),
  };
}

export interface TopRow {
  connection: string;
  key: string;
  /** Total time spent waiting for this lock in the window (ms): the ranking. */
  waitMs: number;
  waits: number;
  acquisitions: number;
  handovers: number;
  maxWaiters: number;
  forceReleases: number;
  expiries: number;
  /** Per bucket of the window: time waited (ms). The heatmap row. */
  cells: number[];
}

export interface Incident {
  at: number;
  connection: string;
  key: string;
  kind: "force-released" | "expired" | "long-hold" | "long-wait";
  holder?: string;
  owner?: string;
  ms?: number;
}

export async function contentionTop(store: HistoryStore, w: Window, limit: number, s: Pick<HistorySettings, "longHoldMs" | "longWaitMs">) {
  const events = await store.events({ from: w.from, to: w.to });
  const rolls = await store.rollups({ from: w.from, to: w.to });
  const n = Math.ceil((w.to - w.from) / w.step);
  const rows = new Map<string, TopRow>();
  const row = (connection: string, key: string) => {
    const id = `${connection}\u0000${key}`;
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { connection, key, waitMs: 0, waits: 0, acquisitions: 0, handovers: 0, maxWaiters: 0, forceReleases: 0, expiries: 0, cells: new Array(n).fill(0) }));
    return r;
  };
  const cell = (t: number) => Math.min(n - 1, Math.max(0, Math.floor((t - w.from) / w.step)));
  const incidents: Incident[] = [];
  for (const e of events) {
    const r = row(e.connection, e.key);
    r.maxWaiters = Math.max(r.maxWaiters, e.waiters);
    if (e.kind === "acquired") r.acquisitions++;
    if (e.kind === "handover") r.handovers++;
    if (e.kind === "force-released") r.forceReleases++;
    if (e.kind === "expired") r.expiries++;
    if ((e.kind === "acquired" || e.kind === "waiter-left") && e.waitMs) {
      r.waitMs += e.waitMs;
      r.waits++;
      r.cells[cell(e.at)] += e.waitMs;
    }
    const base = { at: e.at, connection: e.connection, key: e.key, holder: e.holder, owner: e.owner };
    if (e.kind === "force-released" || e.kind === "expired") incidents.push({ ...base, kind: e.kind, ms: e.holdMs });
    else if (isEnd(e.kind) && (e.holdMs ?? 0) > s.longHoldMs) incidents.push({ ...base, kind: "long-hold", ms: e.holdMs });
    else if ((e.kind === "acquired" || e.kind === "waiter-left") && (e.waitMs ?? 0) > s.longWaitMs) incidents.push({ ...base, kind: "long-wait", ms: e.waitMs });
  }
  for (const ru of rolls) addRollup(row(ru.connection, ru.key), ru, cell(ru.minute));
  const top = [...rows.values()]
    .filter((r) => r.waitMs > 0 || r.acquisitions > 0 || r.maxWaiters > 0)
    .sort((a, b) => b.waitMs - a.waitMs || b.maxWaiters - a.maxWaiters || b.acquisitions - a.acquisitions)
    .slice(0, limit);
  return { ...w, locks: top, incidents: incidents.reverse().slice(0, 200) };
}

function addRollup(r: TopRow, ru: Rollup, i: number) {
  r.waitMs += ru.waitSumMs;
  r.waits += ru.waitCount;
  r.acquisitions += ru.acquisitions;
  r.handovers += ru.handovers;
  r.maxWaiters = Math.max(r.maxWaiters, ru.maxWaiters);
  r.forceReleases += ru.forceReleases;
  r.expiries += ru.expiries;
  r.cells[i] += ru.waitSumMs;
}

const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((s, x) => s + f(x), 0);
const round2 = (x: number) => Math.round(x * 100) / 100;
