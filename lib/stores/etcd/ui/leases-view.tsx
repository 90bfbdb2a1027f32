"use client";

// The leases page of an etcd connection: cluster status, then every lease with its TTL as etcd
// reported it (re-read at the one page rate), its attached keys and the locks among them. The read
// mode and consistency of the connection are shown as on every other view.

import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { LeasesPage } from "../leases-page";
import { ApiError } from "@/components/api";
import { ErrorNote } from "@/components/error-note";
import { formatClock } from "@/components/format";
import { LeasesCluster } from "./leases-cluster";
import { LeasesTable } from "./leases-table";
import { ModeBadge } from "@/components/mode-badge";
import { connectionsQuery, REFRESH_MS, REFRESH_TEXT } from "@/components/queries";

type LeasesAnswer = LeasesPage & { consistency: string };

async function fetchLeases(conn: string, signal: AbortSignal): Promise<LeasesAnswer> {
  const res = await fetch(`/api/connections/${encodeURIComponent(conn)}/leases`, { signal, cache: "no-store" });
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) throw new ApiError(res.status, body.error?.code ?? `http_${res.status}`, body.error?.message ?? res.statusText, body);
  return body as LeasesAnswer;
}

export function LeasesView({ conn }: { conn: string }) {
  const { data, error, isPending } = useQuery({
    queryKey: ["leases", conn],
    queryFn: ({ signal }) => fetchLeases(conn, signal),
    refetchInterval: REFRESH_MS,
    retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
  });
  const conns = useQuery(connectionsQuery());
  const c = conns.data?.find((x) => x.id === conn);
  const [q, setQ] = useState("");
  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const all = data?.leases ?? [];
    if (!needle) return all;
    return all.filter((l) => l.hex.includes(needle) || l.id.includes(needle) || l.keys.some((k) => k.key.toLowerCase().includes(needle)));
  }, [data, q]);
  const lockLeases = data?.leases.filter((l) => l.keys.some((k) => k.lock)).length ?? 0;

  return (
    <div className="mx-auto flex w-full max-w-[1200px] flex-col gap-3 p-4">
      <div className="flex flex-wrap items-center gap-3">
        <h2 className="text-[15px] font-semibold">Leases</h2>
        {c ? <ModeBadge mode={c} consistency={c.consistency} /> : null}
        {data ? (
          <span className="text-muted" data-testid="leases-summary">
            {data.total} lease{data.total === 1 ? "" : "s"}
            {data.shown < data.total ? ` (first ${data.shown} shown)` : ""} · {lockLeases} hold or wait for locks · TTLs from LeaseTimeToLive at{" "}
            {formatClock(data.observedAt, true)}, re-read {REFRESH_TEXT}
          </span>
        ) : null}
        <input
          type="search"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          placeholder="filter by lease or key"
          aria-label="Filter leases by lease id or key"
          className="ml-auto w-64 rounded border border-line bg-sunken px-2 py-1 font-mono text-[12px]"
        />
      </div>
      {error && error instanceof ApiError && error.status === 404 ? (
        <p className="text-muted">This connection has no leases: leases are an etcd feature.</p>
      ) : error ? (
        <ErrorNote error={error} what={data ? "a fresh read (showing the last one)" : "the leases"} />
      ) : null}
      {isPending ? <p className="text-muted">Reading leases from etcd…</p> : null}
      {data ? (
        <>
          <LeasesCluster cluster={data.cluster} error={data.clusterError} />
          {data.error ? <p className="text-warn">Some lease TTLs could not be read: {data.error}</p> : null}
          <LeasesTable conn={conn} leases={rows} />
        </>
      ) : null}
    </div>
  );
}
