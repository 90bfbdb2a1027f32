"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useQueries, useQuery } from "@tanstack/react-query";
import { escapeControls } from "@/lib/keys";
import { lockStatus } from "@/lib/status";
import { fetchLocksPage, type ConnectionSummary } from "./api";
import { ConnectionCard } from "./connection-card";
import { ErrorNote } from "./error-note";
import { formatCount } from "./format";
import { whoText } from "./holder-text";
import { overviewQuery } from "./history-api";
import { RecentEvents, WorstOffenders } from "./overview-parts";
import { keys, REFRESH_MS } from "./queries";
import { useConnections } from "./use-connections";
import { serverHasOverview } from "./truth-types";
import { StatusBadge } from "./status-badge";
import { Ttl } from "./ttl";

const SEARCH_LIMIT = 8;

/** Overview: one card per connection; with ?q= also the matching locks in each connection. */
export function Overview() {
  const q = useSearchParams().get("q")?.trim() ?? "";
  const { data, error, isPending } = useConnections();
  const overview = useQuery(overviewQuery(serverHasOverview(data))).data;
  const labels = new Map((data ?? []).map((c) => [c.id, c.label || c.id]));

  return (
    <div className="mx-auto flex w-full max-w-[1400px] flex-col gap-4 p-4">
      {q && data ? <SearchResults q={q} connections={data} /> : null}
      <section aria-labelledby="connections-h" className="flex flex-col gap-2">
        <h1 id="connections-h" className="text-[13px] font-semibold tracking-wide text-muted uppercase">
          Connections {data ? <span className="font-normal">({data.length})</span> : null}
        </h1>
        {error ? <ErrorNote error={error} what="connections" /> : null}
        {isPending ? <p className="text-muted">Loading connections…</p> : null}
        {data && data.length === 0 ? <p className="text-muted">No connections are configured.</p> : null}
        <div className="grid grid-cols-1 gap-3 lg:grid-cols-2 2xl:grid-cols-3">
          {data?.map((c) => (
            <ConnectionCard
              key={c.id}
              c={c}
              trend={
                overview
                  ? {
                      points: overview.trends[c.id] ?? [],
                      gaps: overview.gaps.filter((g) => g.connection === c.id || g.connection === null),
                      now: overview.now,
                      stepMs: overview.trendStepMs,
                    }
                  : undefined
              }
            />
          ))}
        </div>
      </section>
      {overview ? (
        <div className="grid grid-cols-1 gap-3 lg:grid-cols-2">
          <WorstOffenders data={overview} labels={labels} />
          <RecentEvents data={overview} labels={labels} />
        </div>
      ) : null}
    </div>
  );
}

function SearchResults({ q, connections }: { q: string; connections: ConnectionSummary[] }) {
  const results = useQueries({
    queries: connections.map((c) => ({
      queryKey: [...keys.search(q), c.id],
      queryFn: ({ signal }: { signal: AbortSignal }) => fetchLocksPage(c.id, { q }, 0, SEARCH_LIMIT, signal),
      enabled: c.status !== "unreachable" || c.observedAt !== null,
      refetchInterval: REFRESH_MS,
    })),
  });
  return (
    <section aria-labelledby="search-h" className="flex flex-col gap-2 rounded-md border border-line bg-panel p-3">
      <h1 id="search-h" className="text-[13px] font-semibold">
        Locks whose key contains <span className="font-mono">“{escapeControls(q)}”</span>
        <Link href="/" className="ml-3 text-xs font-normal text-muted hover:text-fg">
          clear ×
        </Link>
      </h1>
      {connections.map((c, i) => {
        const r = results[i];
        const href = `/c/${encodeURIComponent(c.id)}`;
        return (
          <div key={c.id} className="flex flex-col gap-0.5">
            <div className="flex items-baseline gap-2">
              <span className="font-medium">{c.label || c.id}</span>
              {r.data ? (
                <Link href={`${href}?q=${encodeURIComponent(q)}`} className="text-accent hover:underline">
                  {formatCount(r.data.total)} match{r.data.total === 1 ? "" : "es"} in the table →
                </Link>
              ) : r.isPending ? (
                <span className="text-faint">searching…</span>
              ) : null}
              {r.error ? <span className="text-bad">{(r.error as Error).message}</span> : null}
            </div>
            {r.data?.locks.map((lock) => (
              <Link
                key={lock.key}
                href={`${href}/lock?key=${encodeURIComponent(lock.key)}`}
                className="grid grid-cols-[110px_minmax(0,2fr)_130px_minmax(0,1fr)_130px] items-center gap-3 rounded px-1 hover:bg-hover"
              >
                <span>
                  <StatusBadge status={lockStatus(lock)} />
                </span>
                <span className="truncate font-mono">{escapeControls(lock.key)}</span>
                <span className="truncate text-muted">{lock.format}</span>
                <span className="truncate text-muted">{lock.holders[0] ? escapeControls(whoText(lock.holders[0]).who) : "–"}</span>
                <span>
                  <Ttl lock={lock} />
                </span>
              </Link>
            ))}
          </div>
        );
      })}
    </section>
  );
}
