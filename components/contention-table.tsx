"use client";

import Link from "next/link";
import { formatClock, formatDuration } from "./format";
import { expiryCause } from "@/lib/history/causes";
import { lockHref, type TopAnswer } from "./history-api";

/** The most contended locks of the window, ranked by total time spent waiting. */
export function ContentionTable({ data }: { data: TopAnswer }) {
  if (data.locks.length === 0) return null;
  const th = "px-2 py-1 text-left text-[11px] font-semibold tracking-wide text-muted uppercase";
  const td = "px-2 py-1 tabular-nums";
  return (
    <table className="w-full text-[13px]" data-testid="contention-table">
      <thead>
        <tr className="border-b border-line">
          <th className={th}>lock</th>
          <th className={th}>connection</th>
          <th className={th} title="people waiting for it right now, named or only counted by the store">
            waiting now
          </th>
          <th className={th} title="how long the oldest of them has waited so far">
            longest current wait
          </th>
          <th className={th} title="time spent waiting in the range, waits still going included">
            waited (total)
          </th>
          <th className={th}>waits</th>
          <th className={th}>acquisitions</th>
          <th className={th}>handovers</th>
          <th className={th}>max queue</th>
          <th className={th}>force-released</th>
          <th className={th}>expired</th>
        </tr>
      </thead>
      <tbody>
        {data.locks.map((r) => (
          <tr key={`${r.connection}/${r.key}`} className="border-b border-line/60 hover:bg-hover" data-testid="contention-row">
            <td className="px-2 py-1 font-mono break-all">
              <Link href={lockHref(r.connection, r.key)} className="text-accent hover:underline">
                {r.key}
              </Link>
            </td>
            <td className={td}>{r.connection}</td>
            <td className={`${td} ${r.waitingNow ? "font-semibold text-contended" : "text-faint"}`} data-testid="waiting-now">
              {r.waitingNow === undefined ? "–" : r.waitingNow}
              {r.anonymous ? <span className="ml-1 text-[11px] font-normal text-muted">({r.anonymous} not identified)</span> : null}
            </td>
            <td className={td} data-testid="longest-current-wait">
              {r.longestCurrentWaitMs == null ? <span className="text-faint">–</span> : formatDuration(r.longestCurrentWaitMs)}
            </td>
            <td className={td}>{formatDuration(r.waitMs)}</td>
            <td className={td}>{r.waits}</td>
            <td className={td}>{r.acquisitions}</td>
            <td className={td}>{r.handovers}</td>
            <td className={td}>{r.maxWaiters}</td>
            <td className={td}>{r.forceReleases}</td>
            <td className={td}>{r.expiries}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const INCIDENT: Record<string, { text: string; colour: string }> = {
  "force-released": { text: "force-released", colour: "text-bad" },
  expired: { text: "outlived its TTL (expired)", colour: "text-stale" },
  "long-hold": { text: "long hold", colour: "text-expiring" },
  "long-wait": { text: "long wait", colour: "text-contended" },
  lost: { text: "lost during outage", colour: "text-expiring" },
};

/** Stale-lock episodes, force-releases, expiries and long holds/waits in the window. */
export function ContentionIncidents({ data }: { data: TopAnswer }) {
  if (data.incidents.length === 0) return <p className="text-muted">No incidents in this range.</p>;
  return (
    <ul className="flex flex-col divide-y divide-line/60 text-[13px]" data-testid="incidents">
      {data.incidents.map((i, n) => (
        <li key={n} className="flex flex-wrap items-baseline gap-x-3 py-1" data-testid="incident">
          <span className="tabular-nums text-muted">{formatClock(new Date(i.at).toISOString())}</span>
          <span className={`font-medium ${INCIDENT[i.kind]?.colour ?? ""}`}>
            {i.kind === "expired" && i.cause ? `expired (${expiryCause(i.cause)})` : (INCIDENT[i.kind]?.text ?? i.kind)}
            {i.ongoing ? " (still waiting)" : ""}
          </span>
          <Link href={lockHref(i.connection, i.key)} className="font-mono text-accent hover:underline">
            {i.key}
          </Link>
          <span className="text-muted">{i.owner ?? i.holder}</span>
          {i.ms !== undefined ? (
            <span className="tabular-nums text-muted">
              {formatDuration(i.ms)}
              {i.ongoing ? " so far" : ""}
            </span>
          ) : null}
          {i.cause && i.kind !== "expired" ? <span className="text-muted">({i.cause})</span> : null}
        </li>
      ))}
    </ul>
  );
}
