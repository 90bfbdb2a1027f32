// The words for how current a connection's view is, from the server's Freshness (one age,
// computed on the server from the last confirmation). Pure.

import { formatClock, formatDuration } from "./format";
import type { Freshness } from "./truth-types";

/** "last confirmed 17:20:04, 42s ago": the staleness in one line, for a banner or a dimmed row. */
export function staleWords(f: Pick<Freshness, "stale" | "staleAgeMs" | "confirmedAt">): string {
  if (f.staleAgeMs === null || f.staleAgeMs === undefined) return "stale view: never confirmed";
  const at = f.confirmedAt ? `last confirmed ${formatClock(f.confirmedAt)}, ` : "";
  return `stale view: ${at}${formatDuration(f.staleAgeMs)} ago — the store may differ now`;
}

/** Whole seconds of a staleness age, as the release acknowledgement states it ("the view is 42 s old"). */
export function staleSeconds(ms: number): number {
  return Math.max(1, Math.round(ms / 1_000));
}
