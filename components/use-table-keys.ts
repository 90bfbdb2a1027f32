"use client";

// The lock table's keyboard: j/k (or arrows) move the selection within the rows, Enter opens
// the selected lock, Escape clears the selection, "/" focuses the key filter. Ignored while
// typing in a field, with a modifier held, or (Enter) on a focused link or button. One window
// listener per table; the handler reads the latest render's selection, total and rows.

import { useEffect, useRef, type RefObject } from "react";
import { useRouter } from "next/navigation";
import { lockHref } from "./lock-row";
import type { LockPages } from "./use-lock-pages";
import type { LockTableVirtualizer } from "./use-virtual-lock-rows";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));
}

export function useTableKeys(opts: {
  conn: string;
  virtualizer: LockTableVirtualizer;
  searchRef: RefObject<HTMLInputElement | null>;
  selected: number | null;
  setSelected: (index: number | null) => void;
  total: number;
  pages: LockPages;
}): void {
  const { conn, virtualizer, searchRef, selected, setSelected, total, pages } = opts;
  const router = useRouter();
  // The handler reads the latest render's values; the selection stays within the rows.
  const latest = useRef({ selected, total, pages });
  useEffect(() => {
    latest.current = { selected, total, pages };
  });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.metaKey || e.ctrlKey || e.altKey || isTyping(e.target)) return;
      // A focused link or button handles its own Enter.
      if (e.key === "Enter" && (e.target as HTMLElement | null)?.closest?.("a,button")) return;
      if (e.key === "/") {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
        return;
      }
      const { selected: cur, total: count, pages: rows } = latest.current;
      if (!count) return;
      if (e.key === "j" || e.key === "k" || e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const down = e.key === "j" || e.key === "ArrowDown";
        const next = cur === null ? (virtualizer.range?.startIndex ?? 0) : Math.max(0, Math.min(count - 1, cur + (down ? 1 : -1)));
        setSelected(next);
        virtualizer.scrollToIndex(next, { align: "auto" });
      } else if (e.key === "Enter" && cur !== null) {
        const row = rows.rowAt(cur);
        if (row) {
          e.preventDefault();
          router.push(lockHref(conn, row.lock.key));
        }
      } else if (e.key === "Escape") {
        setSelected(null);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [conn, router, virtualizer, searchRef, setSelected]);
}
