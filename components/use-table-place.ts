"use client";

// Where the lock table was, for coming back to it from a lock's detail page (sessionStorage;
// without storage the table opens unfiltered, at the top).
//   useReturnSearch: remembers the table's filters per connection (the detail's back link).
//   useRestoredPlace: saves the scroll position and selection when the table unmounts, and puts
//     them back once the rows are there. Returns the scroll handler to put on the scroll element.

import { useCallback, useEffect, useRef, type RefObject, type UIEvent } from "react";
import { tableReturnKey } from "./lock-filters";

/** Keeps the table's search (filters) for this connection, for the lock page's back link. */
export function useReturnSearch(conn: string, search: string): void {
  useEffect(() => {
    try {
      sessionStorage.setItem(tableReturnKey(conn), search);
    } catch {
      // No storage: the back link goes to the unfiltered table.
    }
  }, [conn, search]);
}

/**
 * Saves scroll and selection under (connection, search) when the table goes away, and restores
 * them once the table has rows (`total` > 0), at most once per mount.
 */
export function useRestoredPlace(opts: {
  conn: string;
  search: string;
  total: number;
  selected: number | null;
  setSelected: (index: number | null) => void;
  scrollRef: RefObject<HTMLDivElement | null>;
}): (e: UIEvent<HTMLDivElement>) => void {
  const { conn, search, total, selected, setSelected, scrollRef } = opts;
  // The unmount cleanup reads the latest render's selection.
  const latestSelected = useRef(selected);
  useEffect(() => {
    latestSelected.current = selected;
  });

  const restoreKey = `lockdeck-scroll:${conn}${search}`;
  const restored = useRef(false);
  // Kept on scroll: by the time an unmount cleanup runs, the element is detached and reads 0.
  const scrollTop = useRef(0);
  useEffect(() => {
    return () => {
      // Nothing shown yet, nothing to remember (and a saved place must survive StrictMode's re-mount).
      if (!restored.current) return;
      try {
        sessionStorage.setItem(restoreKey, JSON.stringify({ top: scrollTop.current, selected: latestSelected.current }));
      } catch {
        // No storage: the table opens at the top.
      }
    };
  }, [restoreKey]);
  useEffect(() => {
    if (restored.current || !total) return;
    restored.current = true;
    try {
      const saved = JSON.parse(sessionStorage.getItem(restoreKey) ?? "null") as { top: number; selected: number | null } | null;
      if (saved) {
        scrollRef.current?.scrollTo({ top: saved.top });
        setSelected(saved.selected);
      }
    } catch {
      // Unreadable entry: start at the top.
    }
  }, [restoreKey, total, scrollRef, setSelected]);

  return useCallback((e: UIEvent<HTMLDivElement>) => {
    scrollTop.current = e.currentTarget.scrollTop;
  }, []);
}
