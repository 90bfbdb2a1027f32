// When each holder and waiter started ("since"), and where that time comes from (sinceSource),
// carried from the record a new one replaces. Owns the short memory of waiters that left a
// queue (key + id → their start), so a queue reorder that brings one back keeps its wait.
// Contract: fill() writes into the fresh record it is given (from the adapter, not shared yet)
// and reads the old one; nothing else.

import type { LockRecord, SinceSource } from "../model";

export class StartTimes {
  /** Waiters that left a queue lately (key + id → their start), for a reorder that brings them back. */
  private departed = new Map<string, { since: string; source: SinceSource; at: number }>();

  /** `departedGraceMs`: how long a departed waiter's first sighting is kept. */
  constructor(private readonly departedGraceMs: number) {}

  /**
   * Fills `since` and labels where it comes from (sinceSource), from `old`, the record `r`
   * replaces: the same holder or waiter keeps its start; a holder that was queued there took
   * over in this change, so its start is now (ZooKeeper's ctime is its queue join, not the
   * take-over) — unless the store records the acquisition itself (later than the join); a
   * waiter that left the queue moments ago and is back (a reorder) keeps its first sighting;
   * anything else new starts at the store's time where it records one, else at this read. Fills
   * `r` in place: it comes fresh from the adapter and is not shared yet (a copy per holder gave
   * every holder object its own hidden class in V8).
   */
  fill(old: LockRecord | undefined, r: LockRecord): void {
    for (const h of r.holders) {
      const prev = old?.holders.find((x) => x.id === h.id);
      if (prev) {
        h.since = prev.since;
        h.sinceObserved = prev.sinceObserved;
        h.sinceSource = prev.sinceSource;
        continue;
      }
      const queued = old?.waiters.find((x) => x.id === h.id);
      if (queued && (!h.since || h.sinceObserved || !queued.since || Date.parse(h.since) <= Date.parse(queued.since))) {
        h.since = r.observedAt;
        h.sinceObserved = true;
        h.sinceSource = "became-holder";
      } else if (h.since) {
        h.sinceSource ??= h.sinceObserved ? "first-seen" : "store";
      } else {
        h.since = r.observedAt;
        h.sinceObserved = true;
        h.sinceSource = "first-seen";
      }
    }
    for (const w of r.waiters) {
      if (w.since) {
        w.sinceSource ??= "store";
        continue;
      }
      const prev = old?.waiters.find((x) => x.id === w.id) ?? this.returning(r.key, w.id);
      w.since = prev?.since ?? r.observedAt;
      w.sinceSource = prev?.sinceSource ?? "first-seen";
    }
    if (old) this.noteDepartures(old, r);
  }

  /**
   * The lock's record is gone (a Redisson fair lock between two holders, for a moment): its
   * waiters are remembered like any departure, so one queued again keeps its first sighting.
   */
  gone(old: LockRecord | undefined): void {
    if (old) this.noteDepartures(old, { ...old, holders: [], waiters: [] });
  }

  /** Waiters in `old` that are neither waiting nor holding in `next`: remembered for the grace period. */
  private noteDepartures(old: LockRecord, next: LockRecord): void {
    if (old.waiters.length === 0) return;
    const now = Date.now();
    for (const w of old.waiters) {
      if (next.waiters.some((x) => x.id === w.id) || next.holders.some((x) => x.id === w.id)) continue;
      this.departed.set(`${old.key}\u0001${w.id}`, { since: w.since ?? old.observedAt, source: w.sinceSource ?? "first-seen", at: now });
    }
    if (this.departed.size > 1_000) for (const [k, d] of this.departed) if (now - d.at > this.departedGraceMs) this.departed.delete(k);
  }

  /** A waiter that left this queue within the grace period and is back (a queue reorder). */
  private returning(key: string, id: string): { since: string; sinceSource: SinceSource } | undefined {
    const d = this.departed.get(`${key}\u0001${id}`);
    if (!d) return undefined;
    this.departed.delete(`${key}\u0001${id}`);
    return Date.now() - d.at <= this.departedGraceMs ? { since: d.since, sinceSource: d.source } : undefined;
  }
}
