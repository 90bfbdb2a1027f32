"use client";

// The lock table's key filter as typed. The table asks the server for the typed text at once
// (a new query per keystroke; react-query aborts the previous request when its query loses its
// last observer, and each answer is cached under its own text, so an older answer can never be
// shown for a newer text). The URL follows QUIET_MS after typing stops (one history entry
// replaced, no navigation), so links and "← locks" carry the filter without a history update
// per keystroke.

import { useCallback, useEffect, useRef, useState } from "react";

/** How long typing must stop before the URL follows. */
export const QUIET_MS = 100;

export interface KeyFilter {
  /** The text in the box, and the one the table asks for. */
  draft: string;
  /** A keystroke: the table follows now, the URL after QUIET_MS of quiet. */
  type(q: string): void;
  /** The caller is writing `q` into the URL itself now (Enter, "clear filters"). */
  settle(q: string): void;
}

/** `urlQ`: the q the router shows; `commit(q)` writes q into the URL (history.replaceState). */
export function useKeyFilter(urlQ: string, commit: (q: string) => void): KeyFilter {
  const [draft, setDraft] = useState(urlQ);
  // The text this box last put into the URL: the router echoing it back is not a change from elsewhere.
  const sent = useRef(urlQ);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const cancel = () => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
  };

  useEffect(() => {
    // The URL's q changed from elsewhere (header search, back button): show it. The router
    // follows history.replaceState a moment later and may pass through older texts of ours on
    // the way; those differ from the address bar's q and are not changes from elsewhere.
    if (urlQ === sent.current || urlQ !== (new URLSearchParams(window.location.search).get("q") ?? "")) return;
    cancel();
    sent.current = urlQ;
    setDraft(urlQ);
  }, [urlQ]);

  useEffect(() => cancel, []);

  const type = useCallback(
    (q: string) => {
      setDraft(q);
      cancel();
      if (q === sent.current) return;
      timer.current = setTimeout(() => {
        timer.current = null;
        sent.current = q;
        commit(q);
      }, QUIET_MS);
    },
    [commit],
  );

  const settle = useCallback((q: string) => {
    cancel();
    sent.current = q;
    setDraft(q);
  }, []);

  return { draft, type, settle };
}
