// Counts of waiters the store does not name (adapter.anonymousWaiters: e.g. Redisson's pub/sub
// subscribers), polled for held locks: a waiter arriving changes no key, so no feed event tells
// of it. Owns the last count per lock key and when waiting began; the hub puts a key's count on
// its records and publishes the locks whose count changed (poll()'s answer).

import type { AnonymousWaiters, LockRecord, StoreAdapter } from "../model";

/** At most this many held locks are asked about anonymous waiters per poll. */
const MAX_WAITER_PROBES = 10_000;

export class AnonymousWaiterCounts {
  private counts = new Map<string, AnonymousWaiters>();
  private held: { version: number; locks: LockRecord[] } | null = null;

  /**
   * The held locks to ask about (at most MAX_WAITER_PROBES), kept per hub version: a key's state
   * changes only with a new version, so an idle console polls without walking every record.
   */
  private heldOf(records: ReadonlyMap<string, LockRecord>, version: number): LockRecord[] {
    if (this.held?.version === version) return this.held.locks;
    const locks: LockRecord[] = [];
    // forEach, not for…of: too rarely run to be optimised, and then for…of allocates per record.
    records.forEach((r) => {
      if (r.state === "held" && locks.length < MAX_WAITER_PROBES) locks.push(r);
    });
    this.held = { version, locks };
    return locks;
  }

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
  async poll(
    adapter: StoreAdapter,
    records: ReadonlyMap<string, LockRecord>,
    version: number,
    signal: AbortSignal,
  ): Promise<Map<string, AnonymousWaiters | undefined>> {
    const changes = new Map<string, AnonymousWaiters | undefined>();
    if (!adapter.anonymousWaiters) return changes;
    const held = this.heldOf(records, version);
    let counts: Map<string, { count: number; source: string }> | null;
    try {
      counts = await adapter.anonymousWaiters(held, signal);
    } catch {
      return changes;
    }
    // Not asked here (a follower: the records carry the reader's counts). Counts kept from when
    // this replica asked would overwrite them: forget them, and publish nothing.
    if (counts === null) {
      this.counts.clear();
      return changes;
    }
    // The usual answer: nobody waits, and nobody waited before.
    if (counts.size === 0 && this.counts.size === 0) return changes;
    const nowIso = new Date().toISOString();
    for (let i = 0; i < held.length; i++) {
      const r = held[i];
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
