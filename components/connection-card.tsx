"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import type { LockStatus } from "@/lib/status";
import { fetchLocksPage, type ConnectionSummary } from "./api";
import { formatCount, plural } from "./format";
import { staleWords } from "./freshness";
import { Sparkline } from "./overview-parts";
import type { HistoryGap, TrendPoint } from "./truth-types";
import { whoText } from "./holder-text";
import { ModeBadge } from "./mode-badge";
import { keys, REFRESH_MS } from "./queries";
import { STATUS_STYLE } from "./status-badge";
import { escapeControls } from "@/lib/keys";

const STATUS_RING: Record<ConnectionSummary["status"], string> = {
  ok: "border-line",
  degraded: "border-warn/60",
  unreachable: "border-bad/60",
};

const TOP_QUERY = { status: "contended", sort: "waiters", dir: "desc" };

/** TopContended names the lock with the longest queue, read from the store like any page. */
function TopContended({ conn }: { conn: string }) {
  const { data } = useQuery({
    queryKey: [...keys.locksOf(conn), TOP_QUERY, "top"],
    queryFn: ({ signal }) => fetchLocksPage(conn, TOP_QUERY, 0, 1, signal),
    refetchInterval: REFRESH_MS,
  });
  const top = data?.locks[0];
  if (!top) return null;
  return (
    <Link
      href={`/c/${encodeURIComponent(conn)}/lock?key=${encodeURIComponent(top.key)}`}
      className="relative z-10 truncate text-muted hover:text-fg"
      title="the contended lock with the most waiters"
    >
      top: <span className="font-mono text-fg">{escapeControls(top.name || top.key)}</span> <span className="text-contended">{top.waiters.length} w</span>
      {top.holders[0] ? <span className="text-faint"> · {escapeControls(whoText(top.holders[0]).who)}</span> : null}
    </Link>
  );
}

/** The connection's trend over the last hour (GET /api/overview), when the server has one. */
export interface CardTrend {
  points: TrendPoint[];
  gaps: HistoryGap[];
  now: number;
  stepMs: number;
}

/** ConnectionCard summarises one connection on the overview (data-testid="connection-card-<id>"). */
export function ConnectionCard({ c, trend }: { c: ConnectionSummary; trend?: CardTrend }) {
  const href = `/c/${encodeURIComponent(c.id)}`;
  const countLink = (status: LockStatus, n: number) => (
    <Link key={status} href={`${href}?status=${status}`} className={`relative z-10 hover:underline ${n > 0 ? STATUS_STYLE[status].text : "text-faint"}`}>
      <span aria-hidden>{STATUS_STYLE[status].icon} </span>
      {formatCount(n)} {status}
    </Link>
  );
  return (
    <article
      data-testid={`connection-card-${c.id}`}
      data-status={c.status}
      className={`relative flex flex-col gap-2 rounded-md border bg-panel p-3 hover:bg-hover ${STATUS_RING[c.status]}`}
    >
      <header className="flex flex-wrap items-baseline gap-x-2 gap-y-1">
        <h2 className="text-[14px] font-semibold">
          {/* Stretched link: the whole card opens the connection; inner links sit above it. */}
          <Link href={href} className="after:absolute after:inset-0 after:content-['']">
            {c.label || c.id}
          </Link>
        </h2>
        <span className="text-muted">
          {c.server ?? c.kind} · {c.consistency}
        </span>
        <span className="ml-auto">
          <ModeBadge mode={c} />
        </span>
      </header>

      {c.status === "unreachable" ? (
        <p className="text-bad">
          <span aria-hidden>▲ </span>unreachable ({c.message || "no answer"})
          {c.observedAt ? (
            <span className="text-muted"> — showing the last snapshot; {staleWords(c)}</span>
          ) : (
            <span className="text-muted"> — no snapshot yet</span>
          )}
        </p>
      ) : c.status === "degraded" ? (
        <p className="text-warn">
          <span aria-hidden>▲ </span>degraded: {c.message}
          {c.stale ? <span className="text-muted"> — {staleWords(c)}</span> : null}
        </p>
      ) : null}

      <p className="flex flex-wrap items-baseline gap-x-3 gap-y-1 tabular-nums">
        <span>
          <span data-testid="lock-count" className="text-[15px] font-semibold">
            {formatCount(c.lockCount)}
          </span>{" "}
          locks
        </span>
        {countLink("contended", c.counts.contended)}
        {countLink("stale", c.counts.stale)}
        {countLink("expiring", c.counts.expiring)}
        {countLink("unknown", c.counts.unknown)}
        {c.counts.problems > 0 ? (
          <span className="text-warn" title="keys under a lock pattern that could not be read or decoded">
            {plural(c.counts.problems, "problem")}
          </span>
        ) : null}
      </p>
      {trend ? (
        <div className="flex flex-col gap-0.5">
          <Sparkline points={trend.points} gaps={trend.gaps} now={trend.now} stepMs={trend.stepMs} />
          <span className="text-[11px] text-faint">
            waiters (line) and contended locks (bars), last hour{trend.gaps.length ? " · shaded: store out of sight" : ""}
          </span>
        </div>
      ) : null}
      {c.counts.contended > 0 && c.status !== "unreachable" ? <TopContended conn={c.id} /> : null}
      <p className="text-[11px] text-faint">
        {c.kind} · {c.id}
      </p>
    </article>
  );
}
