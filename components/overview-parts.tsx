// The overview's sense of time (GET /api/overview): recent events across connections, a
// sparkline per connection, and the worst offenders across stores. Presentational.

import Link from "next/link";
import { escapeControls } from "@/lib/keys";
import { formatClock, formatDateTime, formatDuration } from "./format";
import { causeText, expiryCause } from "@/lib/history/causes";
import { whoText } from "./holder-text";
import { lockHref } from "./lock-row";
import type { HistoryGap, Offender, OverviewAnswer, RecentEvent, TrendPoint } from "./truth-types";

const KIND: Record<string, { text: string; colour: string }> = {
  "force-released": { text: "force-released", colour: "text-bad" },
  expired: { text: "expired", colour: "text-stale" },
  lost: { text: "lost during outage", colour: "text-expiring" },
  outage: { text: "outage", colour: "text-bad" },
  "console-down": { text: "console down", colour: "text-bad" },
  deadlock: { text: "deadlock", colour: "text-bad" },
  "holder-dead": { text: "holder judged dead", colour: "text-bad" },
};

function when(at: number, now: number): string {
  const iso = new Date(at).toISOString();
  return now - at < 86_400_000 ? formatClock(iso) : formatDateTime(iso);
}

function EventDetail({ e, now }: { e: RecentEvent; now: number }) {
  if (e.kind === "force-released") {
    return (
      <span className="text-muted">
        {e.actor ? `by ${e.actor}` : "by an operator"}
        {e.reason ? ` — “${escapeControls(e.reason)}”` : ""}
        {e.owner || e.holder ? ` · was held by ${escapeControls(whoText({ id: e.holder ?? "", owner: e.owner }).who)}` : ""}
      </span>
    );
  }
  if (e.kind === "outage" || e.kind === "console-down") {
    return (
      <span className="text-muted">
        {e.to == null ? `ongoing, ${formatDuration(now - e.at)} so far` : `${formatDuration(e.ms ?? e.to - e.at)}, until ${when(e.to, now)}`}
        {e.cause ? ` · ${escapeControls(e.cause)}` : ""}
      </span>
    );
  }
  if (e.kind === "deadlock" || e.kind === "holder-dead") {
    return <span className="text-muted">{e.to == null ? `ongoing, ${formatDuration(now - e.at)} so far` : `ended after ${formatDuration(e.to - e.at)}`}</span>;
  }
  if (e.kind === "lost") return <span className="text-muted">ended unseen ({escapeControls(causeText(e.cause ?? "unknown"))}), not necessarily released</span>;
  return (
    <span className="text-muted">
      {e.owner || e.holder ? `held by ${escapeControls(whoText({ id: e.holder ?? "", owner: e.owner }).who)}` : ""}
      {e.ms !== undefined ? ` for ${formatDuration(e.ms)}` : ""}
      {e.kind === "expired" && e.cause ? ` · ${expiryCause(e.cause)}` : ""}
    </span>
  );
}

/** Force-releases, expiries, holdings lost in an outage, outages, deadlocks and dead holders across every connection, newest first. */
export function RecentEvents({ data, labels }: { data: OverviewAnswer; labels: Map<string, string> }) {
  return (
    <section aria-labelledby="recent-h" data-testid="recent-events" className="flex min-w-0 flex-col gap-1 rounded-md border border-line bg-panel p-3">
      <h2 id="recent-h" className="text-[11px] font-semibold tracking-wide text-muted uppercase">
        Recent events <span className="font-normal normal-case">(last 24 h)</span>
      </h2>
      {data.recent.length === 0 ? (
        <p className="text-muted">No force-releases, expiries or outages in the last 24 hours.</p>
      ) : (
        <ul className="flex max-h-72 flex-col divide-y divide-line/60 overflow-auto">
          {data.recent.map((e, i) => (
            <li
              key={`${e.at}-${e.kind}-${e.key ?? ""}-${i}`}
              data-testid="recent-event"
              data-kind={e.kind}
              className="flex flex-wrap items-baseline gap-x-2 py-1"
            >
              <span className="tabular-nums text-muted">{when(e.at, data.now)}</span>
              <span className={`font-medium ${KIND[e.kind]?.colour ?? ""}`}>{KIND[e.kind]?.text ?? e.kind}</span>
              <span className="text-faint">{e.connection ? (labels.get(e.connection) ?? e.connection) : "all connections"}</span>
              {e.key && e.connection ? (
                <Link href={lockHref(e.connection, e.key)} className="min-w-0 font-mono break-all text-accent hover:underline">
                  {escapeControls(e.key)}
                </Link>
              ) : null}
              <EventDetail e={e} now={data.now} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function OffenderList({ title, rows, value, labels }: { title: string; rows: Offender[]; value(o: Offender): string; labels: Map<string, string> }) {
  return (
    <div className="flex min-w-0 flex-col gap-0.5">
      <h3 className="text-[12px] font-medium text-muted">{title}</h3>
      {rows.length === 0 ? (
        <p className="text-faint">none</p>
      ) : (
        <ol className="flex flex-col">
          {rows.map((o) => (
            <li key={`${o.connection}\u0000${o.key}`} data-testid="offender" className="flex min-w-0 items-baseline gap-2">
              <span className="w-16 shrink-0 text-right font-medium tabular-nums">{value(o)}</span>
              <Link href={lockHref(o.connection, o.key)} className="min-w-0 truncate font-mono text-accent hover:underline" title={`${o.connection}: ${o.key}`}>
                {escapeControls(o.name || o.key)}
              </Link>
              <span className="shrink-0 text-faint">{labels.get(o.connection) ?? o.connection}</span>
              {o.owner || o.holder ? (
                <span className="min-w-0 truncate text-muted">{escapeControls(whoText({ id: o.holder ?? "", owner: o.owner }).who)}</span>
              ) : null}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** The oldest waiters, longest holds and longest queues right now, across every store. */
export function WorstOffenders({ data, labels }: { data: OverviewAnswer; labels: Map<string, string> }) {
  const w = data.worst;
  return (
    <section aria-labelledby="worst-h" data-testid="worst-offenders" className="flex min-w-0 flex-col gap-2 rounded-md border border-line bg-panel p-3">
      <h2 id="worst-h" className="text-[11px] font-semibold tracking-wide text-muted uppercase">
        Worst right now <span className="font-normal normal-case">(all connections)</span>
      </h2>
      <OffenderList title="Oldest waiters" rows={w.oldestWaiter} value={(o) => formatDuration(o.ms ?? 0)} labels={labels} />
      <OffenderList title="Longest holds" rows={w.longestHold} value={(o) => formatDuration(o.ms ?? 0)} labels={labels} />
      <OffenderList title="Most waiters" rows={w.mostWaiters} value={(o) => `${o.count ?? 0} w`} labels={labels} />
    </section>
  );
}

const W = 240;
const H = 36;

/**
 * Sparkline: waiters (line) and locks with waiters (bars) over the trend window; stretches in
 * which the store was out of sight are hatched, not drawn through.
 */
export function Sparkline({
  points,
  gaps,
  now,
  stepMs,
  windowMs = 3_600_000,
}: {
  points: TrendPoint[];
  gaps: HistoryGap[];
  now: number;
  stepMs: number;
  windowMs?: number;
}) {
  const from = now - windowMs;
  const x = (t: number) => ((Math.max(from, Math.min(now, t)) - from) / windowMs) * W;
  const max = Math.max(1, ...points.map((p) => Math.max(p.waiters, p.contended)));
  const y = (v: number) => H - 2 - (v / max) * (H - 4);
  // Break the line where a point is stale or a sample is missing: no line through an outage.
  const runs: TrendPoint[][] = [];
  for (const p of points) {
    const prev = runs.at(-1)?.at(-1);
    if (p.stale) continue;
    if (!prev || p.t - prev.t > stepMs * 2.5) runs.push([p]);
    else runs.at(-1)!.push(p);
  }
  const stale = points.filter((p) => p.stale);
  const last = points.at(-1);
  const peak = Math.max(0, ...points.map((p) => p.waiters));
  const label = last
    ? `last hour: up to ${peak} waiting; now ${last.waiters} waiting on ${last.contended} lock${last.contended === 1 ? "" : "s"}`
    : "no samples yet";
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      preserveAspectRatio="none"
      className="h-9 w-full"
      role="img"
      aria-label={label}
      data-testid="sparkline"
      data-points={points.length}
    >
      <title>{label}</title>
      <rect x="0" y="0" width={W} height={H} className="fill-sunken" />
      {gaps.map((g) => (
        <rect key={g.id} data-testid="sparkline-gap" x={x(g.from)} width={Math.max(1.5, x(g.to ?? now) - x(g.from))} y="0" height={H} className="fill-bad/25" />
      ))}
      {stale.map((p) => (
        <rect key={`s${p.t}`} x={x(p.t - stepMs)} width={Math.max(1, x(p.t) - x(p.t - stepMs))} y="0" height={H} className="fill-stale/20" />
      ))}
      {points.map((p) =>
        !p.stale && p.contended > 0 ? (
          <rect
            key={`c${p.t}`}
            x={x(p.t - stepMs)}
            width={Math.max(1, x(p.t) - x(p.t - stepMs) - 0.5)}
            y={y(p.contended)}
            height={H - 2 - y(p.contended)}
            className="fill-contended/30"
          />
        ) : null,
      )}
      {runs.map((run) => (
        <polyline
          key={run[0].t}
          // A lone sample still shows, as a short flat stroke.
          points={(run.length > 1 ? run : [{ ...run[0], t: run[0].t - stepMs / 2 }, run[0]]).map((p) => `${x(p.t)},${y(p.waiters)}`).join(" ")}
          fill="none"
          strokeWidth="1.5"
          vectorEffect="non-scaling-stroke"
          className="stroke-contended"
        />
      ))}
    </svg>
  );
}
