// How a Consul lock holding ended, where Consul can tell. A session that ends — invalidated when
// its TTL runs out, a check it is bound to turns critical or its node leaves, or destroyed —
// releases the keys it holds in the same raft transaction, so the key's new ModifyIndex is then
// the sessions table's index too. A holder that lets go (`?release=`, the Go api's Unlock) and
// then destroys its session does it in two transactions: two indexes, or its session still
// there. Contract: a holding is said to have ended with its session only when Consul no longer
// has the session and the sessions table's index is exactly the key's release index; anything
// else (a later session change in between, a read that failed) says nothing, as before.
// Semaphore contenders and deleted keys are not covered.

import { SEMAPHORE_FLAGS, type ConsulEntry } from "../../formats/consul/entry";
import { mapLimit } from "./map-limit";

export interface EndedHolding {
  key: string;
  /** The session that held it. */
  session: string;
  /** The raft index that let it go (the key's new ModifyIndex). */
  index: number;
}

/** Mutex keys whose holding session is not the one they had at the last read. */
export function endedHoldings(before: (key: string) => ConsulEntry | undefined, after: Iterable<ConsulEntry>): EndedHolding[] {
  const out: EndedHolding[] = [];
  for (const e of after) {
    const old = before(e.Key);
    if (!old?.Session || old.Session === e.Session || e.Flags === SEMAPHORE_FLAGS || old.Flags === SEMAPHORE_FLAGS) continue;
    out.push({ key: e.Key, session: old.Session, index: e.ModifyIndex });
  }
  return out;
}

/**
 * key → the session whose end released it. `goneAt(id)`: null while Consul has the session, else
 * the sessions table's index; one read per session; a failed read says nothing of its keys.
 */
export async function sessionEnds(
  ended: EndedHolding[],
  goneAt: (session: string) => Promise<number | null>,
  concurrency: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ended.length === 0) return out;
  const ids = [...new Set(ended.map((e) => e.session))];
  const indexes = await mapLimit(ids, concurrency, (id) => goneAt(id).catch(() => null));
  const at = new Map(ids.map((id, i) => [id, indexes[i]]));
  for (const e of ended) if (at.get(e.session) === e.index) out.set(e.key, e.session);
  return out;
}
