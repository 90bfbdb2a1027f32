// One queryOptions per API resource, so the key and fetcher are defined once and shared by
// hooks and by the SSE cache patcher (components/live-events.tsx). Key roots are distinct so
// a prefix never matches another resource:
//   ["whoami"]                              GET /api/whoami
//   ["connections"]                         GET /api/connections          (invalidate with exact)
//   ["locks", conn, LocksQuery, offset]     one page of GET .../locks     (prefix ["locks", conn])
//   ["lock", conn, key]                     GET .../lock?key=             (prefix ["lock", conn])
//   ["settings", conn]                      GET .../settings
//   ["audit", {connection, key}]            GET /api/audit
//   ["search", q]                           overview search across connections

import { queryOptions } from "@tanstack/react-query";
import { ApiError, fetchAudit, fetchConnections, fetchLock, fetchLocksPage, fetchSettings, fetchWhoami, type LocksQuery } from "./api";

/**
 * Every view on a page re-reads at this one rate (the lock, its table, the header's connection
 * ages, history, audit): two numbers on one screen never come from reads seconds apart.
 */
export const REFRESH_MS = 2_000;

/** "every 2 s": the refresh rate in the words the pages use. */
export const REFRESH_TEXT = `every ${REFRESH_MS / 1_000} s`;

/** Rows per locks page: the table fetches only the pages covering its visible rows. */
export const PAGE_SIZE = 200;

export const keys = {
  whoami: () => ["whoami"] as const,
  connections: () => ["connections"] as const,
  locksOf: (conn: string) => ["locks", conn] as const,
  locksPage: (conn: string, query: LocksQuery, offset: number) => ["locks", conn, query, offset] as const,
  lockOf: (conn: string) => ["lock", conn] as const,
  lock: (conn: string, key: string) => ["lock", conn, key] as const,
  settings: (conn: string) => ["settings", conn] as const,
  audit: (filter: { connection: string; key: string }) => ["audit", filter] as const,
  search: (q: string) => ["search", q] as const,
};

/** Do not retry answers that will not change by retrying (404, 400, 403...). */
function retryUnlessClientError(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

export const whoamiQuery = () =>
  queryOptions({
    queryKey: keys.whoami(),
    queryFn: ({ signal }) => fetchWhoami(signal),
    staleTime: 60_000,
    retry: retryUnlessClientError,
  });

export const connectionsQuery = () =>
  queryOptions({
    queryKey: keys.connections(),
    queryFn: ({ signal }) => fetchConnections(signal),
    // SSE `status` events patch it; the interval keeps snapshot ages honest between events.
    refetchInterval: REFRESH_MS,
    retry: retryUnlessClientError,
  });

export const locksPageQuery = (conn: string, query: LocksQuery, offset: number) =>
  queryOptions({
    queryKey: keys.locksPage(conn, query, offset),
    queryFn: ({ signal }) => fetchLocksPage(conn, query, offset, PAGE_SIZE, signal),
    // Visible pages are re-read so the TTLs shown are the store's, not a local countdown.
    refetchInterval: REFRESH_MS,
    staleTime: 1_000,
    // Pages scrolled past are dropped soon: at 100k rows the cache must not grow with scrolling.
    gcTime: 30_000,
    retry: retryUnlessClientError,
  });

export const lockQuery = (conn: string, key: string) =>
  queryOptions({
    queryKey: keys.lock(conn, key),
    queryFn: ({ signal }) => fetchLock(conn, key, signal),
    // Each call re-reads the key from the store: the TTL bar follows the store.
    refetchInterval: (query) => (query.state.error instanceof ApiError && query.state.error.status === 404 ? false : REFRESH_MS),
    retry: retryUnlessClientError,
  });

export const settingsQuery = (conn: string) =>
  queryOptions({
    queryKey: keys.settings(conn),
    queryFn: ({ signal }) => fetchSettings(conn, signal),
    retry: retryUnlessClientError,
  });

export const auditQuery = (filter: { connection: string; key: string }) =>
  queryOptions({
    queryKey: keys.audit(filter),
    queryFn: ({ signal }) => fetchAudit({ ...filter, limit: 500 }, signal),
    refetchInterval: REFRESH_MS,
    retry: retryUnlessClientError,
  });
