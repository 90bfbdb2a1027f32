"use client";

import Link from "next/link";
import { queryOptions, useQuery } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import type { SessionRow, SessionsView } from "../sessions";
import { ApiError } from "@/components/api";
import { ErrorNote } from "@/components/error-note";
import { formatClock, formatDuration, shortId } from "@/components/format";
import { lockHref } from "@/components/lock-row";
import { ModeBadge } from "@/components/mode-badge";
import { REFRESH_MS } from "@/components/queries";

type SessionsAnswer = SessionsView & { mode: "live" | "polling"; stale: boolean; staleAgeMs: number | null };

async function fetchSessions(conn: string, signal?: AbortSignal): Promise<SessionsAnswer> {
  const res = await fetch(`/api/connections/${encodeURIComponent(conn)}/sessions`, { signal, cache: "no-store" });
  const body = (await res.json().catch(() => undefined)) as SessionsAnswer & { error?: { code: string; message: string } };
  if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? res.statusText, body);
  return body;
}

const sessionsQuery = (conn: string) =>
  queryOptions({
    queryKey: ["sessions", conn] as const,
    queryFn: ({ signal }) => fetchSessions(conn, signal),
    // Each call re-reads /v1/session/list: sessions come and go with their holders.
    refetchInterval: REFRESH_MS,
    retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
  });

/** SessionsTable: every Consul session, what ends it, and the keys it holds (data-testid="session-row"). */
export function SessionsTable({ conn }: { conn: string }) {
  const { data, error, isPending } = useQuery(sessionsQuery(conn));
  return (
    <div className="mx-auto flex w-full max-w-[1200px] flex-col gap-3 p-4">
      <div className="flex flex-wrap items-baseline gap-x-3">
        <h2 className="text-[15px] font-semibold">Sessions</h2>
        {data ? (
          <>
            <span className="text-muted tabular-nums" data-testid="sessions-count">
              {data.sessions.length} session{data.sessions.length === 1 ? "" : "s"} · read {formatClock(data.observedAt)}
            </span>
            <ModeBadge mode={data} consistency={data.consistency} />
          </>
        ) : null}
      </div>
      <p data-testid="sessions-ttl-note" className="text-muted">
        {data?.ttlNote ?? "Consul reports each session's configured TTL, not the time left."} Keys listed are those under the watched prefixes
        {data ? ` (${data.prefixes.join(", ")})` : ""}.
      </p>
      {error ? <ErrorNote error={error} what="sessions" /> : null}
      {isPending ? <p className="text-muted">Loading…</p> : null}
      {data && data.sessions.length === 0 ? <p className="text-muted">No sessions.</p> : null}
      {data && data.sessions.length > 0 ? (
        <table className="w-full border-collapse text-left">
          <thead className="text-[11px] tracking-wide text-muted uppercase">
            <tr className="border-b border-line">
              <th className="py-1 pr-3 font-semibold">Session</th>
              <th className="py-1 pr-3 font-semibold">Node</th>
              <th className="py-1 pr-3 font-semibold">Behavior</th>
              <th className="py-1 pr-3 font-semibold" title="As configured: Consul does not expose the time left">
                TTL (configured)
              </th>
              <th className="py-1 pr-3 font-semibold">Lock-delay</th>
              <th className="py-1 pr-3 font-semibold">Health checks</th>
              <th className="py-1 font-semibold">Keys held</th>
            </tr>
          </thead>
          <tbody>
            {data.sessions.map((s) => (
              <Row key={s.id} conn={conn} s={s} />
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}

function Row({ conn, s }: { conn: string; s: SessionRow }) {
  return (
    <tr data-testid="session-row" data-session={s.id} className="border-b border-line/60 align-top">
      <td className="py-1.5 pr-3">
        <span className="font-mono" title={s.id}>
          {shortId(s.id)}
        </span>
        {s.name ? <div className="text-muted">{escapeControls(s.name)}</div> : null}
      </td>
      <td className="py-1.5 pr-3 font-mono">{escapeControls(s.node)}</td>
      <td className="py-1.5 pr-3" data-testid="session-behavior">
        {s.behavior}
      </td>
      <td className="py-1.5 pr-3 tabular-nums" data-testid="session-ttl">
        {s.ttl ?? <span className="text-faint">none</span>}
        {s.unbounded ? (
          <div className="text-stale" title="No TTL and no health check: only a destroy ends this session">
            ▲ never ends on its own
          </div>
        ) : null}
      </td>
      <td className="py-1.5 pr-3 tabular-nums" data-testid="session-lock-delay">
        {formatDuration(s.lockDelayMs)}
      </td>
      <td className="py-1.5 pr-3">
        {s.checks.length === 0 ? <span className="text-faint">none</span> : null}
        {s.checks.map((c) => (
          <div key={`${c.kind}:${c.id}`} className="font-mono text-[12px]">
            {escapeControls(c.id)} <span className={c.status === "passing" ? "text-free" : c.status ? "text-bad" : "text-faint"}>{c.status ?? "?"}</span>
          </div>
        ))}
      </td>
      <td className="py-1.5" data-testid="session-keys">
        {s.keys.length === 0 ? <span className="text-faint">none</span> : null}
        {s.keys.map((k) => (
          <div key={k.key}>
            <Link href={lockHref(conn, k.lock)} className="font-mono break-all text-accent hover:underline">
              {escapeControls(k.key)}
            </Link>
          </div>
        ))}
      </td>
    </tr>
  );
}
