// Deadlines for a session's requests with one timer (issue 13: a 10k-node walk made 12k timers).
// Every request of a session gets the same timeout, so deadlines come in the order requests
// were made: the oldest unanswered request is always the next to expire, and one timer, armed
// for it, serves them all. Answered requests are skipped, never expired. Monotonic clock.
//
// An entry's expire() closes over its request's promise, and so over the answer the promise
// resolved with. So an answered entry drops its expire() at once, and the list drops the entries
// it has passed (answered entries behind an older one still waiting stay, without their expire,
// until it is answered or expires). The list used to keep every entry until no request of the
// session was out, which in a walk is its end: every reply the walk had read stayed alive until
// then (issue 13: a 100k-node re-walk peaked ~10 MB higher and took ~25% longer).

export interface Deadline {
  /** performance.now() past which the request has failed */
  readonly due: number;
  done: boolean;
}

type Entry = Deadline & { expire: () => void };

const NOTHING = () => {};
/** Passed entries are cut from the list's front once there are this many (and half of it). */
const COMPACT_FROM = 1_024;

export class Deadlines {
  /** From `from` on: requests not yet known to be answered; before it, released slots. */
  private waiting: Array<Entry | undefined> = [];
  private from = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly timeoutMs: number) {}

  /** Starts a request's clock; `expire` runs once if it is not answered within timeoutMs. */
  start(expire: () => void): Deadline {
    const d: Entry = { due: performance.now() + this.timeoutMs, done: false, expire };
    this.waiting.push(d);
    this.timer ??= setTimeout(() => this.sweep(), this.timeoutMs);
    return d;
  }

  /** The request was answered: it will not expire. False when it already had. */
  answer(d: Deadline): boolean {
    if (d.done) return false;
    d.done = true;
    (d as Entry).expire = NOTHING;
    this.skipAnswered();
    return true;
  }

  /** Requests still waiting (for tests). */
  get pending(): number {
    let n = 0;
    for (let i = this.from; i < this.waiting.length; i++) if (!this.waiting[i]!.done) n++;
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
      const d = this.waiting[this.from]!;
      if (!d.done) {
        if (d.due > now) break;
        d.done = true;
        const expire = d.expire;
        d.expire = NOTHING;
        expire();
      }
      this.waiting[this.from++] = undefined;
    }
    this.skipAnswered();
    if (this.from < this.waiting.length) this.timer = setTimeout(() => this.sweep(), Math.max(0, this.waiting[this.from]!.due - now));
  }

  private skipAnswered(): void {
    while (this.from < this.waiting.length && this.waiting[this.from]!.done) this.waiting[this.from++] = undefined;
    if (this.from < this.waiting.length) {
      // Requests keep coming while older ones wait: cut the released front now and then.
      if (this.from >= COMPACT_FROM && this.from * 2 >= this.waiting.length) {
        this.waiting = this.waiting.slice(this.from);
        this.from = 0;
      }
      return;
    }
    // Nothing waits: start over, with no timer left behind.
    this.waiting = [];
    this.from = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
