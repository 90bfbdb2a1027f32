// At most `max` requests in flight, the rest started in the order they came. A walk of 100k
// znodes queues ~100k requests at once: the queue is read by an index, not Array.shift (which
// moves every entry left on each call: ~12 s of the server's CPU at that size).

export class Limiter {
  private inflight = 0;
  private queue: Array<(() => void) | undefined> = [];
  private head = 0;

  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inflight >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.inflight++;
    try {
      return await fn();
    } finally {
      this.inflight--;
      this.next();
    }
  }

  private next(): void {
    if (this.head === this.queue.length) return;
    const start = this.queue[this.head];
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    start!();
  }
}
