// Deadlines for a session's requests with one timer (issue 13: a 10k-node walk made 12k timers).
// Every request of a session gets the same timeout, so deadlines come in the order requests
// were made: the oldest unanswered request is always the next to expire, and one timer, armed
// for it, serves them all. Answered requests are skipped, never expired. Monotonic clock.

export interface Deadline {
  /** performance.now() past which the request has failed */
  readonly due: number;
  done: boolean;
}

export class Deadlines {
  private waiting: Array<Deadline & { expire(): void }> = [];
  private from = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly timeoutMs: number) {}

  /** Starts a request's clock; `expire` runs once if it is not answered within timeoutMs. */
  start(expire: () => void): Deadline {
    const d = { due: performance.now() + this.timeoutMs, done: false, expire };
    this.waiting.push(d);
    this.timer ??= setTimeout(() => this.sweep(), this.timeoutMs);
    return d;
  }

  /** The request was answered: it will not expire. False when it already had. */
  answer(d: Deadline): boolean {
    if (d.done) return false;
    d.done = true;
    this.skipAnswered();
    return true;
  }

  /** Requests still waiting (for tests). */
  get pending(): number {
    let n = 0;
    for (let i = this.from; i < this.waiting.length; i++) if (!this.waiting[i].done) n++;
    return n;
  }

  /** Whether a timer is set (none once every request is answered). */
  get armed(): boolean {
    return this.timer !== null;
  }

  private sweep(): void {
    this.timer = null;
    const now = performance.now();
    while (this.from < this.waiting.length) {
      const d = this.waiting[this.from];
      if (!d.done) {
        if (d.due > now) break;
        d.done = true;
        d.expire();
      }
      this.from++;
    }
    this.skipAnswered();
    if (this.from < this.waiting.length) this.timer = setTimeout(() => this.sweep(), Math.max(0, this.waiting[this.from].due - now));
  }

  private skipAnswered(): void {
    while (this.from < this.waiting.length && this.waiting[this.from].done) this.from++;
    if (this.from < this.waiting.length) return;
    // Nothing waits: start over, with no timer left behind.
    this.waiting = [];
    this.from = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
