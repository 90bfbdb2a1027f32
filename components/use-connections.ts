"use client";

// The connections as this browser may show them. Every age on the pages is the server's
// (Freshness, measured from its last confirmation) — as of the console's last answer. When the
// console stops answering (it crashed or restarts, a proxy is down, a laptop woke before its
// network), that answer gets older while nothing on it moves: the view must not keep saying
// "live, confirmed just now". Past CONSOLE_SILENT_MS without an answer (a fetch or an event
// stream status), every connection is shown stale, its ages grown by the silence (this
// browser's clock, between two of its own readings), with `consoleSilentMs` set for the words.

import { useEffect, useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import type { ConnectionSummary } from "./api";
import { connectionsQuery, REFRESH_MS } from "./queries";

/** No answer from the console for this long (three refreshes): its last answer confirms nothing now. */
export const CONSOLE_SILENT_MS = 3 * REFRESH_MS;

export type ShownConnection = ConnectionSummary & {
  /** Set while the console has not answered for over CONSOLE_SILENT_MS: how long (ms). */
  consoleSilentMs?: number;
};

/** The connections of an answer received `silentMs` ago. Pure. */
export function agedConnections(list: ConnectionSummary[], silentMs: number): ShownConnection[] {
  if (silentMs <= CONSOLE_SILENT_MS) return list;
  return list.map((c) => {
    const age = c.confirmedAgeMs === null ? null : c.confirmedAgeMs + silentMs;
    return { ...c, confirmedAgeMs: age, stale: true, staleAgeMs: age, consoleSilentMs: silentMs };
  });
}

/**
 * How long ago the answer received at `receivedAt` (ms, this browser's clock) came, once that is
 * over CONSOLE_SILENT_MS (0 before): a component re-renders only when the console falls silent,
 * then once a second until it answers.
 */
export function useConsoleSilence(receivedAt: number): number {
  const [silent, setSilent] = useState(0);
  useEffect(() => {
    if (!receivedAt) return;
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      const ms = Date.now() - receivedAt;
      setSilent(ms > CONSOLE_SILENT_MS ? ms : 0);
      timer = setTimeout(tick, ms > CONSOLE_SILENT_MS ? 1_000 : CONSOLE_SILENT_MS - ms + 50);
    };
    tick();
    return () => clearTimeout(timer);
  }, [receivedAt]);
  return silent;
}

/** GET /api/connections (patched by the event stream), aged while the console does not answer. */
export function useConnections() {
  const q = useQuery(connectionsQuery());
  const silent = useConsoleSilence(q.dataUpdatedAt);
  const data = useMemo(() => (q.data ? agedConnections(q.data, silent) : undefined), [q.data, silent]);
  return { data, error: q.error, isPending: q.isPending };
}
