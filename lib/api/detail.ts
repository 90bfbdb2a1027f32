// The lock detail answer: the record re-read from the store, what a release would do, and
// the other locks that share its lease or session (its blast radius).

import type { Connection } from "../registry";
import type { LockRecord } from "../model";
import { HttpError } from "./errors";

export async function lockDetail(conn: Connection, key: string) {
  const { hub } = conn;
  // Reads by key obey the connection's scope: nothing outside it reaches the store.
  const problem = hub.adapter.keyProblem(key);
  if (problem) throw new HttpError(400, problem.code, problem.message);
  // A slow store costs this request at most the read deadline: then the last good record.
  let readError: string | undefined;
  if (hub.reachable) await hub.reads.run(() => hub.applyChanges([key])).catch((err: Error) => (readError = err.message));
  const lock = hub.get(key);
  if (!lock) return null;
  const status = hub.statusEvent();
  const fresh = hub.freshness();
  const plan = hub.adapter.describeRelease(lock, "delete");
  // One plan per offered mode: the dialog shows what the chosen mode deletes (blast radius).
  const plans = Object.fromEntries(plan.modes.map((m) => [m, m === "delete" ? plan : hub.adapter.describeRelease(lock, m)]));
  return {
    lock,
    related: related(lock, hub.all()),
    plan,
    plans,
    mode: status.mode,
    pollIntervalMs: status.pollIntervalMs,
    // now, confirmedAt, confirmedBy, confirmedAgeMs, stale, staleAgeMs, outageSince (lib/api/types.ts
    // Freshness); a re-read cut at the deadline makes this answer stale, aged from the last confirmation.
    ...fresh,
    ...(readError !== undefined && !fresh.stale && { stale: true, staleAgeMs: fresh.confirmedAgeMs }),
    consistency: status.consistency,
    ...(readError && { readError: `not re-read: ${readError}; showing the record read ${lock.observedAt}` }),
  };
}

/** Other LOCKS on the same lease or session (the lock's own helper keys are in lock.relatedKeys). */
function related(lock: LockRecord, all: Iterable<LockRecord>): string[] {
  const out = new Set<string>();
  const leases = new Set(lock.holders.flatMap((h) => [h.lease?.id, h.session?.id]).filter(Boolean));
  if (leases.size > 0) {
    for (const other of all) {
      if (other.key === lock.key) continue;
      if (other.holders.some((h) => leases.has(h.lease?.id) || leases.has(h.session?.id))) out.add(other.key);
    }
  }
  return [...out];
}
