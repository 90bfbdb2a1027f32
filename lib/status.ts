// The state vocabulary every view uses (shared/UI.md): derived from a LockRecord, pure, and
// safe to import in client components.

import type { LockRecord } from "./model";

export type LockStatus = "held" | "contended" | "stale" | "expiring" | "free" | "unknown";

export const LOCK_STATUSES: LockStatus[] = ["contended", "stale", "expiring", "held", "free", "unknown"];

/** Warnings that make a holding look abandoned rather than merely busy. */
export const STALE_WARNINGS = new Set([
  "no-expiry",
  "not-renewed",
  "holder-session-dead",
  "held-too-long",
  "waiter-too-long",
  "lease-expired",
  // A cycle of waits (lib/waits): nobody on it will ever move on its own.
  "deadlock",
  // The holder's client is gone while its session lives on (lib/stores/<kind> liveness).
  "holder-node-failing",
  "holder-disconnected",
]);

/** Fraction of the granted TTL below which a lock counts as expiring. */
const EXPIRING_FRACTION = 0.1;
/** Without a granted TTL (Redis PTTL), under this many ms left counts as expiring. */
const EXPIRING_MS = 3_000;

/** Of a record (server) or a lock as sent (browser): the same fields decide. */
export function lockStatus(lock: Pick<LockRecord, "state" | "warnings" | "waiters" | "anonymousWaiters" | "ttlMs" | "holders">): LockStatus {
  if (lock.state === "unknown") return "unknown";
  if (lock.state === "free") return "free";
  if (lock.warnings.some((w) => STALE_WARNINGS.has(w))) return "stale";
  if (lock.waiters.length > 0 || (lock.anonymousWaiters?.count ?? 0) > 0) return "contended";
  if (lock.ttlMs !== null && lock.ttlMs >= 0) {
    const granted = lock.holders[0]?.lease?.grantedTtlMs;
    if (granted ? lock.ttlMs < granted * EXPIRING_FRACTION : lock.ttlMs < EXPIRING_MS) return "expiring";
  }
  return "held";
}
