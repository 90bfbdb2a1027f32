// When each lock's TTL runs out, ask the store again. Redis removes an expired key when a
// client touches it or when its background cycle samples it; with 100k keys carrying TTLs that
// cycle can take minutes to reach one key, and only then do keyspace events or tracking tell
// anyone. So the live feed re-reads a lock at the moment its PTTL said it would expire: the read
// itself makes Redis expire the key (the lock is then gone, as the store says), or finds it
// renewed (a new PTTL, a new due time). The store decides; the clock only says when to ask.
//
// Due times are kept in buckets of `resolutionMs`, with one timer for the earliest bucket.
// A key renewed before it expired keeps its old entry until that fires; the re-read then finds
// it alive and nothing is published.

const RESOLUTION_MS = 20;
/** A due time this close is asked again no sooner than this (PTTL rounds down). */
const MIN_DELAY_MS = 5;
/** setTimeout's own limit (~24.8 days); a later bucket re-arms when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ExpiryClock {
  private readonly buckets = new Map<number, string[]>();
  /** Bucket times, a binary min-heap. */
  private readonly heap: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly onDue: (keys: string[]) => void,
    private readonly resolutionMs = RESOLUTION_MS,
  ) {}

  /** A lock key the store said expires in `ttlMs` at `readAt` (epoch ms). */
  note(key: string, ttlMs: number, readAt: number): void {
    if (this.stopped) return;
    const due = Math.max(readAt + ttlMs, Date.now() + MIN_DELAY_MS);
    const bucket = Math.ceil(due / this.resolutionMs) * this.resolutionMs;
    const keys = this.buckets.get(bucket);
    if (keys) keys.push(key);
    else {
      this.buckets.set(bucket, [key]);
      this.push(bucket);
    }
    if (bucket < this.timerAt) this.arm(bucket);
  }

  get size(): number {
    let n = 0;
    for (const keys of this.buckets.values()) n += keys.length;
    return n;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.buckets.clear();
    this.heap.length = 0;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    const due: string[] = [];
    while (this.heap.length && this.heap[0] <= now) {
      const bucket = this.pop()!;
      due.push(...(this.buckets.get(bucket) ?? []));
      this.buckets.delete(bucket);
    }
    if (this.heap.length) this.arm(this.heap[0]);
    if (due.length) this.onDue(due);
  }

  private push(x: number): void {
    const h = this.heap;
    h.push(x);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p] <= h[i]) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): number | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last !== undefined) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l] < h[m]) m = l;
        if (r < h.length && h[r] < h[m]) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
