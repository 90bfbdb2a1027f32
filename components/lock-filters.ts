// The lock table's filters and sort live in the URL (so links are shareable) under the same
// names the locks endpoint takes: q, format, status (comma list), warning, sort, dir.

import { LOCK_STATUSES, type LockStatus } from "@/lib/status";
import type { LocksQuery } from "./api";

export type SortColumn = "key" | "ttl" | "age" | "waiters";
export const SORT_COLUMNS: SortColumn[] = ["key", "ttl", "age", "waiters"];

export interface LockFilters {
  q: string;
  format: string;
  status: LockStatus[];
  warning: string;
  sort: SortColumn | "";
  dir: "asc" | "desc" | "";
}

interface ParamsLike {
  get(name: string): string | null;
}

/** parseFilters reads filters from URL search params, dropping values the API would refuse. */
export function parseFilters(params: ParamsLike): LockFilters {
  const status = (params.get("status") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is LockStatus => (LOCK_STATUSES as string[]).includes(s));
  const sort = params.get("sort") ?? "";
  const dir = params.get("dir") ?? "";
  return {
    q: params.get("q") ?? "",
    format: params.get("format") ?? "",
    // Canonical order keeps one cache entry per selection, whatever order the URL had.
    status: LOCK_STATUSES.filter((s) => status.includes(s)),
    warning: params.get("warning") ?? "",
    sort: (SORT_COLUMNS as string[]).includes(sort) ? (sort as SortColumn) : "",
    dir: dir === "asc" || dir === "desc" ? dir : "",
  };
}

/** toLocksQuery turns filters into the locks endpoint's query (empty values omitted by the fetcher). */
export function toLocksQuery(f: LockFilters): LocksQuery {
  return {
    q: f.q,
    format: f.format,
    status: f.status.join(","),
    warning: f.warning,
    sort: f.sort,
    dir: f.sort ? f.dir : "",
  };
}

/** filtersSearch renders filters as a URL query string ("" or "?q=..."), omitting defaults. */
export function filtersSearch(f: LockFilters): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(toLocksQuery(f))) if (v) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * nextSort: clicking a column sorts by it in its most useful direction first (keys A→Z, the
 * shortest TTL, the oldest holding, the longest queue); clicking it again flips the direction.
 */
export function nextSort(f: LockFilters, column: SortColumn): Pick<LockFilters, "sort" | "dir"> {
  if (f.sort !== column) return { sort: column, dir: column === "key" || column === "ttl" ? "asc" : "desc" };
  return { sort: column, dir: f.dir === "asc" ? "desc" : "asc" };
}

/** tableReturnKey names the sessionStorage entry holding the table's last query string, for "← locks". */
export const tableReturnKey = (conn: string) => `lockdeck-table:${conn}`;
