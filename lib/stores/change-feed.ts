// The buffer between a store's push notifications and the hub. Notification callbacks add
// changed keys, ask for a re-list, or fail the feed; drain() hands them to the hub as
// batches. Keys that change again before the hub asks are merged, so a burst costs one read.

import type { StoreChange } from "../model";

export class ChangeFeed {
  private pending = new Set<string>();
  private resync = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private coalescing = false;

  /** coalesceMs > 0 waits that long after the first change before waking the reader. */
  constructor(private readonly coalesceMs = 0) {}

  add(keys: Iterable<string>): void {
    const before = this.pending.size;
    for (const k of keys) this.pending.add(k);
    if (this.pending.size > before) this.notify(false);
  }

  /** Events were lost (reconnect, compaction, an index that went back): the reader re-lists. */
  needResync(): void {
    this.resync = true;
    this.notify(true);
  }

  /** Ends the feed: drain() throws this error. */
  fail(err: Error): void {
    this.failure ??= err;
    this.notify(true);
  }

  /** Batches until the signal aborts; a resync empties the pending keys (the re-list covers them). */
  async *drain(signal: AbortSignal): AsyncGenerator<StoreChange> {
    const onAbort = () => this.notify(true);
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        if (this.failure) throw this.failure;
        if (this.pending.size === 0 && !this.resync) await new Promise<void>((r) => (this.wake = r));
        if (signal.aborted) break;
        if (this.failure) throw this.failure;
        if (this.resync) {
          this.resync = false;
          this.pending = new Set();
          yield { keys: [], resync: true };
        } else if (this.pending.size > 0) {
          const keys = [...this.pending];
          this.pending = new Set();
          yield { keys };
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  private notify(now: boolean): void {
    if (!now && this.coalesceMs > 0) {
      if (this.coalescing) return;
      this.coalescing = true;
      setTimeout(() => {
        this.coalescing = false;
        this.notify(true);
      }, this.coalesceMs);
      return;
    }
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
