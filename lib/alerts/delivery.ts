// Delivery to one webhook: batches are POSTed in order; a failed one (no answer in time, a
// refused connection, a non-2xx) is retried with exponential back-off and stays at the head
// (later batches wait behind it, so a resolve never overtakes its firing). After maxAttempts it
// is dropped and counted. Everything that happened is kept for the alerts page and /api/metrics.

export interface Attempt {
  at: string;
  webhook: string;
  /** What the batch carried: "2 firing, 1 resolved". */
  what: string;
  attempt: number;
  outcome: "sent" | "retrying" | "dropped";
  status?: number;
  error?: string;
}

export interface WebhookStatus {
  name: string;
  kind: string;
  /** Where it goes, without path, query or credentials (the URL is a secret). */
  target: string;
  pending: number;
  sent: number;
  /** Failed attempts (each retry counts). */
  failures: number;
  /** Batches given up after maxAttempts, or dropped because the queue was full. */
  dropped: number;
  lastSuccessAt: string | null;
  lastError: { at: string; message: string } | null;
  /** Failures in a row since the last success. */
  failing: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export type Sender = (body: string, signal: AbortSignal) => Promise<{ status: number }>;

interface Batch {
  body: string;
  what: string;
  attempts: number;
  nextAt: number;
}

/** At most this many batches wait per webhook; the oldest go first (counted as dropped). */
const MAX_QUEUE = 500;

export class WebhookQueue {
  private queue: Batch[] = [];
  private busy = false;
  readonly status: WebhookStatus;

  constructor(
    name: string,
    kind: string,
    url: string,
    private readonly send: Sender,
    private readonly retry: RetryPolicy,
    private readonly timeoutMs: number,
    private readonly record: (a: Attempt) => void,
  ) {
    const u = new URL(url);
    this.status = {
      name,
      kind,
      target: `${u.protocol}//${u.host}`,
      pending: 0,
      sent: 0,
      failures: 0,
      dropped: 0,
      lastSuccessAt: null,
      lastError: null,
      failing: 0,
    };
  }

  enqueue(body: string, what: string, now: number): void {
    this.queue.push({ body, what, attempts: 0, nextAt: now });
    while (this.queue.length > MAX_QUEUE) {
      const lost = this.queue.shift()!;
      this.status.dropped++;
      this.record({
        at: new Date(now).toISOString(),
        webhook: this.status.name,
        what: lost.what,
        attempt: lost.attempts,
        outcome: "dropped",
        error: `queue full (${MAX_QUEUE} batches waiting)`,
      });
    }
    this.status.pending = this.queue.length;
  }

  /** Sends the head batch if it is due; resolves when that attempt is over. */
  async pump(now = Date.now()): Promise<void> {
    const head = this.queue[0];
    if (this.busy || !head || head.nextAt > now) return;
    this.busy = true;
    head.attempts++;
    const at = new Date(now).toISOString();
    try {
      const { status } = await this.send(head.body, AbortSignal.timeout(this.timeoutMs));
      if (status < 200 || status > 299) throw Object.assign(new Error(`HTTP ${status}`), { status });
      this.queue.shift();
      this.status.sent++;
      this.status.failing = 0;
      this.status.lastSuccessAt = at;
      this.record({ at, webhook: this.status.name, what: head.what, attempt: head.attempts, outcome: "sent", status });
    } catch (err) {
      const e = err as Error & { status?: number };
      const message = e.name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : e.message;
      this.status.failures++;
      this.status.failing++;
      this.status.lastError = { at, message };
      if (head.attempts >= this.retry.maxAttempts) {
        this.queue.shift();
        this.status.dropped++;
        this.record({
          at,
          webhook: this.status.name,
          what: head.what,
          attempt: head.attempts,
          outcome: "dropped",
          status: e.status,
          error: `${message}; gave up after ${head.attempts} attempts`,
        });
      } else {
        head.nextAt = now + Math.min(this.retry.maxBackoffMs, this.retry.initialBackoffMs * 2 ** (head.attempts - 1));
        this.record({ at, webhook: this.status.name, what: head.what, attempt: head.attempts, outcome: "retrying", status: e.status, error: message });
      }
    } finally {
      this.status.pending = this.queue.length;
      this.busy = false;
    }
  }
}
