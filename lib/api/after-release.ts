// After a release the answer says who holds the lock now (read back from the store by the
// hub's re-read right after the release), or that it is free.

import type { Hub } from "../hub/hub";
import type { AfterRelease } from "./types";

export function afterRelease(hub: Hub, key: string): AfterRelease {
  const lock = hub.get(key);
  const observedAt = hub.freshness().confirmedAt;
  if (!hub.reachable) return { state: "unknown", holders: [], waiters: 0, observedAt };
  if (!lock) return { state: "gone", holders: [], waiters: 0, observedAt };
  return {
    state: lock.state === "held" && lock.holders.length > 0 ? "held" : lock.state === "unknown" ? "unknown" : "free",
    holders: lock.holders.map((h) => ({ id: h.id, owner: h.owner, since: h.since })),
    waiters: lock.waiters.length + (lock.anonymousWaiters?.count ?? 0),
    observedAt: lock.observedAt,
  };
}
