// Fetchers and TanStack query options for the history API (docs/architecture.md §4):
//   ["history", conn, key, range]   GET /api/history          (one lock's series)
//   ["contention", range]           GET /api/contention/top   (top locks, heatmap, incidents)
//   ["overview"]                    GET /api/overview         (recent events, trends, worst offenders)
// Key roots are distinct from components/queries.ts so no prefix matches another resource.
// Ranges are relative ("15m"): the window slides, and each refetch asks for "the last 15m" of the
// server's clock (`span`): a browser whose clock is off must not move the window.

import { queryOptions } from "@tanstack/react-query";
import { ApiError } from "./api";
import { REFRESH_MS } from "./queries";
import type { HistoryAnswer, OverviewAnswer, Recording, Resolution, TopAnswer } from "@/lib/api/types";

export const RANGES = { "5m": 5 * 60_000, "15m": 15 * 60_000, "1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 } as const;
export type RangeName = keyof typeof RANGES;
export const isRange = (s: string | null | undefined): s is RangeName => !!s && s in RANGES;

export type { HistoryAnswer, Recording, Resolution, TopAnswer };

async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { signal, cache: "no-store", headers: { accept: "application/json" } });
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? res.statusText, body);
  }
  return (await res.json()) as T;
}

/** About 60 buckets over the range, in whole seconds. */
const stepOf = (ms: number) => Math.max(1_000, Math.ceil(ms / 60 / 1_000) * 1_000);

export const historyQuery = (conn: string, key: string, range: RangeName) =>
  queryOptions({
    queryKey: ["history", conn, key, range] as const,
    queryFn: ({ signal }) => {
      const q = new URLSearchParams({ connection: conn, key, span: String(RANGES[range]), step: String(stepOf(RANGES[range])) });
      return getJson<HistoryAnswer>(`/api/history?${q}`, signal);
    },
    refetchInterval: REFRESH_MS,
    retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
  });

export const contentionQuery = (range: RangeName, limit = 20) =>
  queryOptions({
    queryKey: ["contention", range, limit] as const,
    queryFn: ({ signal }) => {
      const q = new URLSearchParams({ span: String(RANGES[range]), step: String(stepOf(RANGES[range])), limit: String(limit) });
      return getJson<TopAnswer>(`/api/contention/top?${q}`, signal);
    },
    refetchInterval: REFRESH_MS,
    retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
  });

/** Recent events, per-connection trends and worst offenders across every connection. */
export const overviewQuery = (enabled = true) =>
  queryOptions({
    queryKey: ["overview"] as const,
    queryFn: ({ signal }) => getJson<OverviewAnswer>("/api/overview", signal),
    refetchInterval: REFRESH_MS,
    enabled,
    retry: (n, err) => !(err instanceof ApiError && err.status < 500) && n < 2,
  });

export const lockHref = (conn: string, key: string) => `/c/${encodeURIComponent(conn)}/lock?key=${encodeURIComponent(key)}`;

export function resolutionText(r: Resolution | undefined): string {
  if (!r) return "resolution unknown";
  return r.mode === "live"
    ? "live: every change is seen"
    : `polling every ${Math.round(r.resMs / 1000)} s: shorter holds and waits may be missed, times are ±${Math.round(r.resMs / 1000)} s`;
}
