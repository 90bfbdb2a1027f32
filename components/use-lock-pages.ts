"use client";

import { useQueries, useQueryClient } from "@tanstack/react-query";
import type { LockView } from "@/lib/model";
import type { LocksPage, LocksQuery } from "./api";
import { PAGE_SIZE, keys, locksPageQuery } from "./queries";

export interface LockPages {
  /** The newest page read for these filters: total, mode, consistency, formats, problems. */
  meta: LocksPage | undefined;
  /** The row at a table index, or undefined while its page loads. */
  rowAt(index: number): { lock: LockView; removed: boolean } | undefined;
  error: unknown;
  fetching: boolean;
}

/**
 * useLockPages fetches only the PAGE_SIZE pages that cover rows [first, last] (cursor = row
 * offset), each re-read at REFRESH_MS while on screen (see locksPageQuery). Before the total is
 * known (first === -1) it reads the first page.
 */
export function useLockPages(conn: string, query: LocksQuery, first: number, last: number): LockPages {
  const client = useQueryClient();
  const pages: number[] = [];
  if (first < 0) pages.push(0);
  else for (let p = Math.floor(first / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p++) pages.push(p);

  const results = useQueries({ queries: pages.map((p) => locksPageQuery(conn, query, p * PAGE_SIZE)) });

  // The newest page of these filters anywhere in the cache (including pages just scrolled
  // past), so the total stays known while a far jump loads its pages.
  let meta: LocksPage | undefined;
  let newest = -1;
  for (const q of client.getQueryCache().findAll({ queryKey: [...keys.locksOf(conn), query] })) {
    const data = q.state.data as LocksPage | undefined;
    if (data && q.state.dataUpdatedAt > newest) {
      newest = q.state.dataUpdatedAt;
      meta = data;
    }
  }

  const byPage = new Map<number, LocksPage | undefined>();
  pages.forEach((p, i) => byPage.set(p, results[i].data));

  return {
    meta,
    rowAt(index) {
      const page = byPage.get(Math.floor(index / PAGE_SIZE));
      const lock = page?.locks[index % PAGE_SIZE];
      return lock ? { lock, removed: page.removed?.includes(lock.key) ?? false } : undefined;
    },
    error: results.find((r) => r.error)?.error,
    fetching: results.some((r) => r.isFetching),
  };
}
