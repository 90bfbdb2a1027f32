// Counts of waiters the store does not name (adapter.anonymousWaiters: e.g. Redisson's pub/sub
// subscribers), polled for held locks: a waiter arriving changes no key, so no feed event tells
// of it. Owns the last count per lock key and when waiting began; the hub puts a key's count on
// its records and publishes the locks whose count changed (poll()'s answer).

import type { AnonymousWaiters, LockRecord, StoreAdapter } from "../model";

/** At most this many held locks are asked about anonymous waiters per poll. */
const MAX_WAITER_PROBES = 10_000;

export class AnonymousWaiterCounts {
  private counts = new Map<string, AnonymousWaiters>();

  /** The last count for a lock key, if it has anonymous waiters. */
  get(key: string): AnonymousWaiters | undefined {
    return this.counts.get(key);
  }

  /** Forgets the counts of locks that are no longer held. */
  prune(isHeld: (key: string) => boolean): void {
    for (const key of this.counts.keys()) if (!isHeld(key)) this.counts.delete(key);
  }

  /**
   * Asks the store about the held locks among `records` and keeps the answers. Returns the keys
   * whose count changed, with the new count (undefined: none now). A failed poll changes nothing
   * (empty answer); the next one tries again.
   */
  async poll(adapter: StoreAdapter, records: Iterable<LockRecord>, signal: AbortSignal): Promise<Map<string, AnonymousWaiters | undefined>> {
    const changes = new Map<string, AnonymousWaiters | undefined>();
    if (!adapter.anonymousWaiters) return changes;
    const held: LockRecord[] = [];
    for (const r of records) {
      if (r.state === "held") held.push(r);
      if (held.length >= MAX_WAITER_PROBES) break;
    }
    let counts: Map<string, { count: number; source: string }>;
    try {
      counts = await adapter.anonymousWaiters(held, signal);
    } catch {
      return changes;
    }
    const nowIso = new Date().toISOString();
    for (const r of held) {
      const c = counts.get(r.key);
      const before = this.counts.get(r.key);
      const next = c && c.count > 0 ? { count: c.count, source: c.source, since: before?.since ?? nowIso } : undefined;
      if (before?.count === next?.count && before?.source === next?.source) continue;
      if (next) this.counts.set(r.key, next);
      else this.counts.delete(r.key);
      changes.set(r.key, next);
    }
    return changes;
  }
}
