// Fixed-window counters in memory, per key (the actor for releases; client address + name, and
// name alone, for sign-ins).
// One process = one console; several replicas would each count their own.

export class RateLimiter {
  private hits = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one attempt; false when the key is over its limit in this window. */
  take(key: string, now = Date.now()): boolean {
    const w = this.hits.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.hits.set(key, { start: now, count: 1 });
      if (this.hits.size > 10_000) this.prune(now);
      return true;
    }
    w.count++;
    return w.count <= this.max;
  }

  private prune(now: number) {
    for (const [k, w] of this.hits) if (now - w.start >= this.windowMs) this.hits.delete(k);
  }
}
