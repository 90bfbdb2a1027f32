// Reads that API requests make against one store (a lock page's re-read, a page's fresh TTLs)
// go through this gate, so a slow store costs each request at most the deadline and the store
// at most `maxInFlight` such reads at once:
//   - a read waits for a free slot, but never past the deadline;
//   - a read that started keeps its slot until the store answers (or its own client timeout
//     fires): the store never sees more than maxInFlight of them, however many requests wait;
//   - the request itself is answered at the deadline either way (with the last good data).
// Nothing is queued beyond the deadline, so a burst of requests against a stalled store
// drains in one deadline, not in burst × latency.

export class ReadTimeout extends Error {
  override readonly name = "ReadTimeout";
}

export class ReadGate {
  private inFlight = 0;
  private peak = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly maxInFlight: number,
    readonly deadlineMs: number,
  ) {}

  /** Runs `read` if a slot frees up in time; rejects with ReadTimeout at the deadline. */
  async run<T>(read: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.deadlineMs;
    if (!(await this.acquire(deadline))) {
      throw new ReadTimeout(`${this.maxInFlight} reads of this store are still running after ${this.deadlineMs} ms`);
    }
    const running = read().finally(() => this.release());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ReadTimeout(`the store did not answer within ${this.deadlineMs} ms`)), Math.max(0, deadline - Date.now()));
    });
    running.catch(() => {}); // answered late or failed after the deadline: nobody is waiting
    try {
      return await Promise.race([running, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads running now, and the most there ever were at once. */
  stats(): { inFlight: number; peak: number } {
    return { inFlight: this.inFlight, peak: this.peak };
  }

  private acquire(deadline: number): Promise<boolean> {
    if (this.inFlight < this.maxInFlight) {
      this.take();
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        this.take();
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          const i = this.waiting.indexOf(grant);
          if (i >= 0) this.waiting.splice(i, 1);
          resolve(false);
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiting.push(grant);
    });
  }

  private take(): void {
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}
