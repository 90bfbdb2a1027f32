// A force-release on a stale view needs the operator to say so: the request carries
// `staleAckMs`, the age of the view they acknowledged ("the view is N s old"). The fence still
// protects the store (the conditional delete refuses a holding that changed), so the release
// is allowed, but never by accident on numbers the operator did not know were old.

import type { Freshness } from "./types";

/**
 * The age grows while the request travels: the UI sends the age it shows at the click, so the
 * server allows this much more (request latency, clock steps), not the operator's think time.
 */
export const STALE_ACK_SLACK_MS = 2_000;

/** Null when the request may go ahead; else why not (the 428 answer's message and fields). */
export function staleAckProblem(f: Freshness, staleAckMs: number | undefined): { message: string; extra: Record<string, unknown> } | null {
  if (!f.stale) return null;
  const age = f.staleAgeMs;
  const seconds = age === null ? "of unknown age (never read)" : `${Math.round(age / 1000)} s old`;
  if (age !== null && staleAckMs !== undefined && staleAckMs + STALE_ACK_SLACK_MS >= age) return null;
  return {
    message:
      staleAckMs === undefined
        ? `the view is ${seconds}: acknowledge it (staleAckMs ≥ ${age ?? "?"}) to release anyway; the fence still protects the store`
        : `staleAckMs ${staleAckMs} is less than the view's age (${age ?? "unknown"} ms): re-read the age and acknowledge it`,
    extra: { field: "staleAckMs", staleAgeMs: age, confirmedAt: f.confirmedAt },
  };
}
