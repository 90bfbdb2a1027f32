"use client";

// The lock table's keyboard selection is a row index (the virtualizer scrolls by index), but
// what the operator selected is a LOCK: when rows move under it (a lock appears or goes above
// it, a re-sort by TTL), the selection follows that lock, and Enter opens the lock highlighted.
// A lock that moved out of the loaded rows, or went, leaves nothing selected — never another lock.

import { useLayoutEffect, useRef } from "react";
import type { LockPages } from "./use-lock-pages";

/** How far (rows) a selected lock is looked for when the rows moved. */
const FOLLOW_ROWS = 200;

export function useSelectionFollowsLock(pages: LockPages, selected: number | null, setSelected: (index: number | null) => void): void {
  const chosen = useRef<{ index: number; key: string } | null>(null);
  // Layout effect: adjusted in the commit that moved the rows, before a key press can read them.
  useLayoutEffect(() => {
    if (selected === null) {
      chosen.current = null;
      return;
    }
    const here = pages.rowAt(selected)?.lock.key;
    const c = chosen.current;
    // The operator moved (or a return restored) the selection: it names the lock now there.
    if (!c || c.index !== selected) {
      chosen.current = here === undefined ? null : { index: selected, key: here };
      return;
    }
    if (here === c.key) return;
    for (let d = 1; d <= FOLLOW_ROWS; d++) {
      for (const i of [selected - d, selected + d]) {
        if (i >= 0 && pages.rowAt(i)?.lock.key === c.key) {
          chosen.current = { index: i, key: c.key };
          setSelected(i);
          return;
        }
      }
    }
    chosen.current = null;
    setSelected(null);
  });
}
