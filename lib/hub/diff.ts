// What counts as a change worth an event. The remaining TTL moves on every read, so it is
// left out: TTLs reach the browser through fresh page reads (adapter.ttls), not the stream.

import type { LockRecord } from "../model";

export function fingerprint(r: LockRecord): string {
  return JSON.stringify([
    r.format,
    r.state,
    r.holding,
    r.holders.map((h) => [h.id, h.reentrancy, h.lease?.id, h.session?.id, h.expiresAt]),
    r.waiters.map((w) => [w.id, w.deadline]),
    r.warnings,
    r.permitsFree,
    r.ttlMs === null,
    r.fencingToken,
    r.anonymousWaiters?.count ?? 0,
  ]);
}

export interface Diff {
  upserts: LockRecord[];
  removes: string[];
}

export function diffSnapshots(before: Map<string, LockRecord>, after: Map<string, LockRecord>): Diff {
  const upserts: LockRecord[] = [];
  const removes: string[] = [];
  for (const [key, rec] of after) {
    const old = before.get(key);
    if (!old || fingerprint(old) !== fingerprint(rec)) upserts.push(rec);
  }
  for (const key of before.keys()) if (!after.has(key)) removes.push(key);
  return { upserts, removes };
}
