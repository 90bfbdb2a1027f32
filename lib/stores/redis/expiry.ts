// When each lock's TTL runs out, ask the store again. Redis removes an expired key when a
// client touches it or when its background cycle samples it; with 100k keys carrying TTLs that
// cycle can take minutes to reach one key, and only then do keyspace events or tracking tell
// anyone. So the live feed re-reads a lock at the moment its PTTL said it would expire: the read
// itself makes Redis expire the key (the lock is then gone, as the store says), or finds it
// renewed (a new PTTL, a new due time). The store decides; the clock only says when to ask.
//
// Due times are kept in buckets, with one timer for the earliest bucket: buckets of
// `resolutionMs` for the next few seconds, of a second beyond (opened at the start of their
// second, when their keys move to the fine buckets), so 100k locks with TTLs spread over ten
// minutes cost a few hundred buckets, not tens of thousands. A key renewed before it expired
// keeps its old entry until that fires; the re-read then finds it alive and nothing is published.

const RESOLUTION_MS = 20;
/** Due times further away than this wait in one-second buckets. */
const FINE_HORIZON_MS = 5_000;
const COARSE_MS = 1_000;
/** A due time this close is asked again no sooner than this (PTTL rounds down). */
const MIN_DELAY_MS = 5;
/** setTimeout's own limit (~24.8 days); a later bucket re-arms when this fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class ExpiryClock {
  private readonly buckets = new Map<number, { keys: string[]; dues: number[] }>();
  /** Bucket times, a binary min-heap. */
  private readonly heap: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private stopped = false;

  private readonly resolutionMs: number;
  private readonly fineHorizonMs: number;
  private readonly coarseMs: number;

  constructor(
    private readonly onDue: (keys: string[]) => void,
    o: { resolutionMs?: number; fineHorizonMs?: number; coarseMs?: number } = {},
  ) {
    this.resolutionMs = o.resolutionMs ?? RESOLUTION_MS;
    this.fineHorizonMs = o.fineHorizonMs ?? FINE_HORIZON_MS;
    this.coarseMs = o.coarseMs ?? COARSE_MS;
  }

  /** A lock key the store said expires in `ttlMs` at `readAt` (epoch ms); `now`: the clock, read once per batch. */
  note(key: string, ttlMs: number, readAt: number, now = Date.now()): void {
    if (this.stopped) return;
    this.add(key, Math.max(readAt + ttlMs, now + MIN_DELAY_MS), now);
  }

  /** Keys waiting, and buckets holding them. */
  get size(): { keys: number; buckets: number } {
    let keys = 0;
    for (const b of this.buckets.values()) keys += b.keys.length;
    return { keys, buckets: this.buckets.size };
  }

  private add(key: string, due: number, now: number): void {
    const bucket = due - now > this.fineHorizonMs ? Math.floor(due / this.coarseMs) * this.coarseMs : Math.ceil(due / this.resolutionMs) * this.resolutionMs;
    const b = this.buckets.get(bucket);
    if (b) {
      b.keys.push(key);
      b.dues.push(due);
    } else {
      this.buckets.set(bucket, { keys: [key], dues: [due] });
      this.push(bucket);
    }
    if (bucket < this.timerAt) this.arm(bucket);
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
    const later: Array<[string, number]> = [];
    while (this.heap.length && this.heap[0] <= now) {
      const bucket = this.pop()!;
      const b = this.buckets.get(bucket);
      this.buckets.delete(bucket);
      if (!b) continue;
      // A one-second bucket opens at the start of its second: its keys move to fine buckets.
      b.keys.forEach((key, i) => (b.dues[i] <= now ? due.push(key) : later.push([key, b.dues[i]])));
    }
    for (const [key, at] of later) this.add(key, at, now);
    if (this.heap.length && this.heap[0] < this.timerAt) this.arm(this.heap[0]);
    if (due.length) this.onDue(due);
  }

  private push(x: number): void {
    const h = this.heap;
    h.push(x);
    for (let i = h.length - 1; i > 0;) {
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
      for (let i = 0; ;) {
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
