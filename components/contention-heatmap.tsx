"use client";

// Lock × time heatmap: one row per contended lock, one cell per time bucket, shade = time
// spent waiting in that bucket. Every cell is a link to the lock (plain HTML grid: real
// anchors are keyboard- and test-friendly, which SVG <a> inside a scaled viewBox is not).

import Link from "next/link";
import { formatClock, formatDuration } from "./format";
import { lockHref, type TopAnswer } from "./history-api";
import { TimeAxis } from "./history-parts";

export function ContentionHeatmap({ data }: { data: TopAnswer }) {
  const max = Math.max(1, ...data.locks.flatMap((r) => r.cells));
  if (data.locks.length === 0) return <p className="text-muted">No contention recorded in this range.</p>;
  return (
    <div className="grid grid-cols-[minmax(0,220px)_minmax(0,1fr)] gap-x-2 gap-y-0.5 text-[12px]" data-testid="heatmap">
      {data.locks.map((r) => (
        <div key={`${r.connection}/${r.key}`} className="contents">
          <Link href={lockHref(r.connection, r.key)} className="truncate text-right font-mono text-muted hover:text-fg" title={`${r.connection}: ${r.key}`}>
            {r.key}
          </Link>
          <div className="flex h-4" role="row" aria-label={r.key}>
            {r.cells.map((ms, i) => {
              const t = data.from + i * data.step;
              const waiting = r.cellWaiters?.[i];
              const level = ms === 0 ? 0 : 0.15 + 0.85 * Math.sqrt(ms / max);
              return (
                <Link
                  key={i}
                  href={lockHref(r.connection, r.key)}
                  data-testid="heatmap-cell"
                  data-key={r.key}
                  data-connection={r.connection}
                  data-wait-ms={ms}
                  data-waiting={waiting ?? ""}
                  title={`${r.key} at ${formatClock(new Date(t).toISOString())}: ${formatDuration(ms)} waited${waiting ? ` by ${waiting} waiter${waiting === 1 ? "" : "s"} (waits still going included)` : ""}`}
                  className="block flex-1 border-r border-panel bg-sunken hover:outline hover:outline-1 hover:outline-fg"
                >
                  <span className="block h-full w-full bg-contended" style={{ opacity: level }} />
                </Link>
              );
            })}
          </div>
        </div>
      ))}
      {data.gaps?.length ? (
        <>
          <span
            className="truncate text-right text-muted"
            title="stretches in which a store, or the console itself, was out of sight: nothing is known of them"
          >
            out of sight
          </span>
          <div className="relative h-2 bg-sunken" data-testid="heatmap-gaps">
            {data.gaps.map((g) => (
              <span
                key={g.id}
                className="absolute inset-y-0 bg-bad/40"
                style={{ left: `${pct(g.from, data)}%`, width: `${Math.max(0.4, pct(g.to ?? data.to, data) - pct(g.from, data))}%` }}
                title={`${g.connection ?? "console"} ${g.kind === "console-down" ? "down" : "out of sight"} ${formatClock(new Date(g.from).toISOString())} → ${g.to ? formatClock(new Date(g.to).toISOString()) : "now"}`}
              />
            ))}
          </div>
        </>
      ) : null}
      <span />
      <TimeAxis from={data.from} to={data.to} />
    </div>
  );
}

/** Position of a time within the window, in percent (clamped). */
function pct(t: number, d: { from: number; to: number }): number {
  return ((Math.min(Math.max(t, d.from), d.to) - d.from) / (d.to - d.from)) * 100;
}
