"use client";

// The lock table's rows on screen and the pages covering them: a virtualiser over the total
// (from whichever page is newest), and the pages for the rows it renders (useLockPages).
// Input: the connection, its locks query, and the table's scroll element. Output: the pages,
// the total, the virtualiser and its items (the rows to render now).

import { useEffect, useState, type RefObject } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { LocksQuery } from "./api";
import { ROW_HEIGHT } from "./lock-row";
import { useLockPages } from "./use-lock-pages";

export function useVirtualLockRows(conn: string, query: LocksQuery, scrollRef: RefObject<HTMLDivElement | null>) {
  // Total first (from whichever page is newest), then the rows on screen.
  const [range, setRange] = useState<{ first: number; last: number }>({ first: -1, last: -1 });
  const pages = useLockPages(conn, query, range.first, range.last);
  const total = pages.meta?.total ?? 0;

  const virtualizer = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    // Let React batch scroll updates instead of a synchronous render per scroll event.
    useFlushSync: false,
  });
  const items = virtualizer.getVirtualItems();
  const first = items.length ? items[0].index : -1;
  const last = items.length ? items[items.length - 1].index : -1;
  useEffect(() => {
    setRange((r) => (r.first === first && r.last === last ? r : { first, last }));
  }, [first, last]);

  return { pages, total, virtualizer, items };
}

export type LockTableVirtualizer = ReturnType<typeof useVirtualLockRows>["virtualizer"];
