// The hub's read loop: follow the store's push feed (adapter.watch) where there is one, else
// poll; back off after a failed read; re-list a quiet feed now and then (resyncIntervalMs).
// Owns the open feed cycle, why the feed is not available here (then it polls until the next
// resync), and the wake-up of a pause. It keeps no lock state: reading, applying and publishing
// are the hub's steps (FeedLoopSteps), called from here.

import type { StoreAdapter, StoreChange } from "../model";
import { CATCHING_UP_MS } from "./health";

/** What the loop asks of the hub. */
export interface FeedLoopSteps {
  /** A full snapshot; false (the last good one kept) when the read fails. */
  refresh(): Promise<boolean>;
  /** Re-read the locks behind some changed store keys and publish what changed. */
  applyChanges(keys: string[]): Promise<void>;
  /** Publish the connection's status. */
  publishStatus(): void;
  /** The update mode the last status event announced. */
  shownMode(): string | null;
  /** A feed batch is applied and none waits behind it: the view is as current as the feed knows. */
  caughtUp(): void;
}

export class FeedLoop {
  private cycle: AbortController | null = null;
  private unavailable: string | null = null;
  private wake: (() => void) | null = null;
  private behindSince: number | null = null;

  constructor(
    private readonly adapter: StoreAdapter,
    /** Aborted when the hub stops: the loop ends. */
    private readonly stopped: AbortSignal,
    private readonly resyncIntervalMs: number,
    private readonly steps: FeedLoopSteps,
  ) {}

  /** A feed cycle is open (its events reach the hub). */
  get following(): boolean {
    return this.cycle !== null;
  }

  /**
   * Since when (ms) the feed has delivered a batch that is not applied yet (its re-read or
   * re-list still runs); null when none is. Until then the view is behind the store by at
   * least that batch: nothing may confirm it as current meanwhile.
   */
  get catchingUpSince(): number | null {
    return this.behindSince;
  }

  /** Why the feed is not used here (the hub polls meanwhile), or null. */
  get unavailableReason(): string | null {
    return this.unavailable;
  }

  /** Ends the open feed cycle: the loop re-lists and opens a new one. */
  abortFeed(): void {
    this.cycle?.abort();
  }

  /** The store is back after a failure: try the feed again, and re-list now. */
  retryFeed(): void {
    this.unavailable = null;
    this.cycle?.abort();
    this.wake?.();
  }

  /** The hub stopped (its signal is aborted): end the feed and any pause at once. */
  stop(): void {
    this.cycle?.abort();
    this.wake?.();
  }

  /** Runs until the hub's signal is aborted. */
  async run(): Promise<void> {
    let backoff = 250;
    const signal = this.stopped;
    while (!signal.aborted) {
      const feed = this.adapter.watch !== undefined && !this.unavailable;
      // A feed that reads its own first snapshot (watchBeforeSnapshot) needs none before it.
      const ok = feed && this.adapter.watchBeforeSnapshot ? await this.follow() : (await this.steps.refresh()) && (!feed || (await this.follow()));
      if (!ok) {
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      }
      backoff = 250;
      if (!feed) await this.pause(this.adapter.updateMode().intervalMs ?? 5_000);
    }
  }

  /**
   * Follows the push feed until it ends, breaks, or a resync is due. False when a snapshot it
   * asked for failed (the caller backs off); a feed that is not available here (it failed before
   * its first item) sets `unavailable` and returns true, so the caller polls at once.
   */
  private async follow(): Promise<boolean> {
    const cycle = new AbortController();
    this.cycle = cycle;
    const stop = () => cycle.abort();
    this.stopped.addEventListener("abort", stop, { once: true });
    let yielded = false;
    // Even a quiet feed is re-listed now and then: a missed event would otherwise stay missed.
    const resyncTimer = setTimeout(() => cycle.abort(), this.resyncIntervalMs);
    resyncTimer.unref?.();
    let feed: AsyncIterator<StoreChange> | null = null;
    try {
      feed = this.adapter.watch!(cycle.signal)[Symbol.asyncIterator]();
      this.steps.publishStatus();
      let next = feed.next();
      for (;;) {
        const item = await next;
        if (item.done) break;
        const change = item.value;
        yielded = true;
        const received = Date.now();
        this.behindSince = received;
        // A batch that takes a while is shown as such (catching up, stale) while it runs ...
        const shown = setTimeout(() => this.steps.publishStatus(), CATCHING_UP_MS + 50);
        shown.unref?.();
        try {
          if (change.resync) {
            if (!(await this.steps.refresh())) return false;
          } else if (change.keys.length > 0) await this.steps.applyChanges(change.keys);
        } finally {
          clearTimeout(shown);
          this.behindSince = null;
        }
        // ... and as caught up once done. An adapter may also turn live only once it has caught
        // up; say so as soon as it does.
        if (Date.now() - received > CATCHING_UP_MS || this.adapter.updateMode().mode !== this.steps.shownMode()) this.steps.publishStatus();
        // A batch that came in while this one was applied is handed over at once (the feed's
        // buffer yields within microtasks): only when none is does the view count as caught up.
        next = feed.next();
        if (!(await settlesBeforeImmediate(next)) && !cycle.signal.aborted) this.steps.caughtUp();
      }
      return true;
    } catch (err) {
      if (cycle.signal.aborted) return true;
      // A feed that fails before its first batch is not available here (e.g. no tracking and
      // keyspace events off); poll instead and try the feed again at the next resync (or when
      // the store comes back after a failure). A failed read will say if the store is down.
      if (!yielded) {
        this.unavailable = (err as Error).message;
        setTimeout(() => (this.unavailable = null), this.resyncIntervalMs).unref?.();
        return true;
      }
      // A feed that breaks does not make the store unreachable: the re-list that follows (run())
      // decides. Marking it here would record an outage for every feed reconnect.
      return false;
    } finally {
      // The feed ends with its cycle (as a for…of would end it): its streams close.
      cycle.abort();
      void feed?.return?.(undefined).catch(() => undefined);
      clearTimeout(resyncTimer);
      this.behindSince = null;
      this.stopped.removeEventListener("abort", stop);
      this.cycle = null;
      this.steps.publishStatus();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/** Whether `p` settles before the next macrotask (a value already waiting in the feed's buffer). */
function settlesBeforeImmediate(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => setImmediate(() => resolve(false))),
  ]);
}
