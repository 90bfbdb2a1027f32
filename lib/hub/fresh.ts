// Remaining TTLs in a page of locks, fresh from the store (PTTL) rather than from the
// snapshot: the browser shows the store's own number, never a countdown of ours.

import type { LockRecord } from "../model";
import type { Hub } from "./hub";

export async function withFreshTtls(hub: Hub, locks: LockRecord[]): Promise<LockRecord[]> {
  const ttls = hub.adapter.ttls;
  if (!ttls || locks.length === 0 || !hub.reachable) return locks;
  const signal = AbortSignal.timeout(hub.reads.deadlineMs);
  const observedAt = new Date().toISOString();
  try {
    // Through the hub's read gate: capped in flight, answered by the deadline.
    const fresh = await hub.reads.run(() =>
      ttls.call(
        hub.adapter,
        locks.map((l) => l.key),
        signal,
      ),
    );
    return locks.map((l) =>
      (l.ttlSource === "pttl" || l.ttlSource === "lease") && fresh.has(l.key) ? { ...l, ttlMs: fresh.get(l.key) ?? null, observedAt } : l,
    );
  } catch {
    // Stale beats partial: the snapshot's values, with their own observedAt.
    return locks;
  }
}
