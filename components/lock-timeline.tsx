"use client";

// LockTimeline: who held this lock when (Gantt lanes, one per owner), waiters over time as a
// band underneath, and hold/wait percentiles — from GET /api/history.
// Charts are plain SVG + HTML: the shapes are rectangles and one step area, colours come from
// the app's semantic tokens (fill-held, fill-contended…) so dark mode just works, and cells can
// be real links; a chart library would add ~100 kB for no shape we need.

import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { ErrorNote } from "./error-note";
import { formatClock, formatDuration } from "./format";
import { causeText } from "@/lib/history/causes";
import { historyQuery, type HistoryAnswer, type RangeName } from "./history-api";
import type { HistoryGap } from "./truth-types";

/** A holding in the timeline; `cause` says why a lost one ended (server field, may be absent). */
type SegmentView = Omit<HistoryAnswer["segments"][number], "endKind"> & { endKind?: string; cause?: string };
import { RangePicker, RecordingNote, TimeAxis } from "./history-parts";

const MAX_LANES = 10;

export function LockTimeline({ conn, lockKey }: { conn: string; lockKey: string }) {
  const [range, setRange] = useState<RangeName>("15m");
  const q = useQuery(historyQuery(conn, lockKey, range));
  const h = q.data;
  return (
    <section data-testid="lock-timeline" className="mt-3 rounded-md border border-line bg-panel px-4 py-3" aria-label="Contention history">
      <header className="mb-2 flex flex-wrap items-center gap-3">
        <h2 className="text-[11px] font-semibold tracking-wide text-muted uppercase">History</h2>
        <RecordingNote recording={h?.recording} resolution={h?.resolution} />
        <span className="ml-auto">
          <RangePicker value={range} onChange={setRange} testId="timeline-range" />
        </span>
      </header>
      {q.error && !h ? <ErrorNote error={q.error} what="this lock's history" /> : null}
      {!h ? q.isPending ? <p className="text-muted">Loading history…</p> : null : <TimelineBody h={h} />}
    </section>
  );
}

function TimelineBody({ h }: { h: HistoryAnswer }) {
  const span = h.to - h.from;
  const x = (t: number) => ((Math.min(Math.max(t, h.from), h.to) - h.from) / span) * 1000;
  const lanes = new Map<string, HistoryAnswer["segments"]>();
  for (const s of h.segments) {
    const lane = s.owner ?? s.holder;
    if (!lanes.has(lane) && lanes.size >= MAX_LANES) continue;
    lanes.set(lane, [...(lanes.get(lane) ?? []), s]);
  }
  const hidden = h.segments.length - [...lanes.values()].reduce((n, l) => n + l.length, 0);
  const maxQ = Math.max(1, ...h.buckets.map((b) => b.maxWaiters));
  return (
    <div className="flex flex-col gap-2">
      <Figures h={h} />
      {lanes.size === 0 ? (
        <p className="text-muted" data-testid="timeline-empty">
          No holdings recorded in this range.
        </p>
      ) : (
        <div className="grid grid-cols-[minmax(0,180px)_minmax(0,1fr)] gap-x-2 text-[12px]">
          {[...lanes.entries()].map(([lane, segs]) => (
            <Lane key={lane} lane={lane} segs={segs} x={x} now={h.to} gaps={h.gaps ?? []} />
          ))}
          <span className="pt-1 text-right text-muted">waiters (max {maxQ})</span>
          <svg viewBox="0 0 1000 30" preserveAspectRatio="none" className="h-8 w-full" data-testid="waiters-band" role="img" aria-label="waiters over time">
            <rect x="0" y="0" width="1000" height="30" className="fill-sunken" />
            {h.buckets.map((b) =>
              b.maxWaiters > 0 ? (
                <rect
                  key={b.t}
                  x={x(b.t)}
                  width={Math.max(1, x(b.t + h.step) - x(b.t))}
                  y={30 - (b.maxWaiters / maxQ) * 30}
                  height={(b.maxWaiters / maxQ) * 30}
                  className="fill-contended/70"
                >
                  <title>{`${formatClock(new Date(b.t).toISOString())}: up to ${b.maxWaiters} waiting, ${b.acquisitions} acquisitions, ${b.handovers} handovers`}</title>
                </rect>
              ) : null,
            )}
            <GapMarks gaps={h.gaps ?? []} x={x} now={h.to} height={30} />
          </svg>
          <span />
          <TimeAxis from={h.from} to={h.to} />
        </div>
      )}
      {hidden > 0 ? <p className="text-[12px] text-faint">{hidden} more holdings by other owners not drawn</p> : null}
    </div>
  );
}

const END_WORDS: Record<string, string> = { expired: "expired", "force-released": "force-released", lost: "lost during outage" };

function Lane({ lane, segs, x, now, gaps }: { lane: string; segs: SegmentView[]; x: (t: number) => number; now: number; gaps: HistoryGap[] }) {
  return (
    <>
      <span className="truncate pt-0.5 text-right font-mono text-muted" title={lane}>
        {lane}
      </span>
      <svg viewBox="0 0 1000 16" preserveAspectRatio="none" className="h-4 w-full" role="img" aria-label={`holdings of ${lane}`}>
        <rect x="0" y="0" width="1000" height="16" className="fill-sunken" />
        {segs.map((s) => {
          const end = s.end ?? now;
          const colour = s.end === null ? "fill-accent" : s.endKind === "released" ? "fill-held/70" : s.endKind === "lost" ? "fill-expiring/70" : "fill-stale";
          const ended = s.endKind && s.endKind !== "released" ? `, ${END_WORDS[s.endKind] ?? s.endKind}${s.cause ? ` (${causeText(s.cause)})` : ""}` : "";
          return (
            <rect
              key={`${s.holder}-${s.start}`}
              data-testid="timeline-segment"
              data-end-kind={s.endKind ?? ""}
              x={x(s.start)}
              width={Math.max(2, x(end) - x(s.start))}
              y="2"
              height="12"
              rx="1"
              className={colour}
            >
              <title>{`${s.owner ?? s.holder}: ${formatClock(new Date(s.start).toISOString())} → ${s.end === null ? "still held" : formatClock(new Date(s.end).toISOString())} (${formatDuration(end - s.start)}${ended}${s.seen ? ", already held when recording began" : ""})`}</title>
            </rect>
          );
        })}
        <GapMarks gaps={gaps} x={x} now={now} height={16} />
      </svg>
    </>
  );
}

/** Stretches in which the store was out of sight, drawn over the lanes: nothing is known of them. */
function GapMarks({ gaps, x, now, height }: { gaps: HistoryGap[]; x: (t: number) => number; now: number; height: number }) {
  return (
    <>
      {gaps.map((g) => (
        <rect key={g.id} data-testid="timeline-gap" x={x(g.from)} width={Math.max(2, x(g.to ?? now) - x(g.from))} y="0" height={height} className="fill-bad/30">
          <title>{`${g.kind === "console-down" ? "LockDeck was down" : "store out of sight"}: ${formatClock(new Date(g.from).toISOString())} → ${g.to ? formatClock(new Date(g.to).toISOString()) : "now"}${g.detail ? ` (${g.detail})` : ""}`}</title>
        </rect>
      ))}
    </>
  );
}

function Figures({ h }: { h: HistoryAnswer }) {
  const p = (v: number | null) => (v === null ? "–" : formatDuration(v));
  const maxQ = Math.max(0, ...h.buckets.map((b) => b.maxWaiters));
  const cell = (label: string, value: string, testId?: string) => (
    <div className="flex flex-col" data-testid={testId}>
      <span className="text-[11px] text-muted">{label}</span>
      <span className="font-mono tabular-nums">{value}</span>
    </div>
  );
  return (
    <div className="flex flex-wrap gap-x-6 gap-y-1" data-testid="timeline-figures">
      {cell("hold p50 / p95 / p99", `${p(h.hold.p50)} / ${p(h.hold.p95)} / ${p(h.hold.p99)}`, "hold-percentiles")}
      {cell("wait p50 / p95 / p99", `${p(h.wait.p50)} / ${p(h.wait.p95)} / ${p(h.wait.p99)}`, "wait-percentiles")}
      {h.waitingNow !== undefined ? cell("waiting now", String(h.waitingNow) + (h.anonymous ? ` (${h.anonymous} not identified)` : ""), "waiting-now") : null}
      {h.waitingNow !== undefined
        ? cell("longest current wait", h.longestCurrentWaitMs == null ? "–" : formatDuration(h.longestCurrentWaitMs), "longest-current-wait")
        : null}
      {h.waitedTotalMs !== undefined ? cell("waited (total)", formatDuration(h.waitedTotalMs), "waited-total") : null}
      {cell("acquisitions", String(h.acquisitions), "acquisitions")}
      {cell("handovers / min", String(h.handoversPerMin))}
      {cell("max queue", String(maxQ))}
      {cell("force-released", String(h.forceReleases))}
      {cell("expired", String(h.expiries))}
      {h.lost ? cell("lost during outage", String(h.lost), "lost") : null}
      {h.hold.basis === "bucketed" ? <span className="self-end text-[11px] text-faint">percentiles from minute roll-ups (bucketed)</span> : null}
    </div>
  );
}
