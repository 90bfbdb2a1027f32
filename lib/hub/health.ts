// How the hub's connection stands, and the store's health checks.
// Owns: reachable or not and why, the store's own "degraded" note, the server it names, when the
// view was last confirmed current and by what (every age and the staleness come from that one
// time: freshness()), when the current outage began, and how long the last small read took
// ("slow"). It publishes nothing itself: the methods that change what a status event would say
// either return true or call the caller's `publish` hook, and the hub sends the event.

import type { ConnectionStatus, StoreAdapter } from "../model";
import type { Freshness } from "../api/types";

/** A slow read is shown for this long after it completed. */
const SLOW_SHOWN_MS = 60_000;
/**
 * A batch of the live feed not applied after this long (a burst's re-read or re-list) makes the
 * view stale, "catching up", until it is: the store is known to be ahead of it (audit2 F8).
 */
export const CATCHING_UP_MS = 1_000;

/** What a health check asks of the hub around it. */
export interface HealthCheckHooks {
  /** Publish the connection's status (something a status event says has changed). */
  publish(): void;
  /** The store answers again after a failure: re-list now and try the feed again. */
  back(): void;
  /** The live feed is open (and the adapter says "live"): an answer confirms the view. */
  feedLive(): boolean;
}

export class ConnectionHealth {
  private state: ConnectionStatus = "unreachable";
  private message = "connecting";
  /** The server the store's health check names. */
  private server: string | undefined;
  /** Last time the view was confirmed current (ms), and by what. */
  private confirmedAt: number | null = null;
  private confirmedBy: Freshness["confirmedBy"] = null;
  /** The last confirmation before the current failure (ms); null while reachable. */
  private outageSince: number | null = null;
  private failedSince: number | null = null;
  /** Why the store's own health check says "degraded" (no leader, cluster_state:fail), or null. */
  private healthNote: string | null = null;
  /** Last failure that was not just a check still waiting for its answer (ms). */
  private hardFailureAt = 0;
  /** How long the last small store read (health check, re-read of a few keys) took, and when it answered. */
  private lastRead: { ms: number; at: number } | null = null;

  /**
   * `slowReadMs`: a small read that took longer than this shows the connection as slow.
   * `relayed`: the adapter's (StoreAdapter.relayed): while it serves another replica's reads, a
   * confirmation is dated no later than that reader's own — a frozen or lagging reader's view
   * ages here as it does there, not from this replica's last look at the feed.
   */
  constructor(
    private readonly slowReadMs: number,
    private readonly relayed: () => { confirmedAt: number | null } | undefined = () => undefined,
  ) {}

  get reachable(): boolean {
    return this.state === "ok";
  }

  /** One health check: records its answer, and tells the hub through `on` what follows from it. */
  async check(adapter: StoreAdapter, signal: AbortSignal, on: HealthCheckHooks): Promise<void> {
    const started = performance.now();
    const startedAt = Date.now();
    const h = await adapter.health(signal);
    if (h.status !== "unreachable") this.answered(performance.now() - started);
    this.server = h.server ?? this.server;
    const note = h.status === "degraded" ? h.message : null;
    if (note !== this.healthNote) {
      this.healthNote = note;
      on.publish();
    }
    if (h.status === "unreachable") {
      // A check that timed out with its request still out is no proof the store is down: if
      // the answer comes after all, it is a (slow) answer; if it never does, that is a failure.
      if (this.markFailed(new Error(h.message), !!h.late)) on.publish();
      void h.late?.then((why) => {
        if (signal.aborted) return;
        if (why === null) this.answered(performance.now() - started);
        // A failure that comes late is old news once a read that ended after this check began
        // found the store reachable: it must not take the connection down again.
        else if (this.superseded(startedAt)) return;
        else if (this.markFailed(new Error(`${h.message}; no answer after all: ${why}`))) on.publish();
        on.publish();
      });
      return;
    }
    if (this.failedSince !== null) {
      // Back after a failure: whatever the feed missed meanwhile is unknown; re-list now, and
      // try the feed again (it may have failed only because the store was down).
      on.back();
      return;
    }
    // The store answers and the live feed is open: it would have told us of any change, so the
    // view is confirmed as of now. Published, so open pages see "live, confirmed 1 s ago".
    if (this.state === "ok" && on.feedLive()) {
      this.confirm("live-feed");
      on.publish();
    }
  }

  /** The connection is reachable and was confirmed by a read after `at` (ms since epoch). */
  private superseded(at: number): boolean {
    return this.state === "ok" && this.confirmedAt !== null && this.confirmedAt > at;
  }

  confirm(by: "read" | "live-feed"): void {
    const now = Date.now();
    const relayed = this.relayed();
    if (!relayed) {
      this.confirmedAt = now;
      this.confirmedBy = by;
      return;
    }
    // Another replica's view: as current as that reader confirmed it, and never less than an
    // earlier confirmation of it (each is a lower bound of the same reader's).
    if (relayed.confirmedAt === null) return;
    const at = Math.min(now, relayed.confirmedAt);
    if (this.confirmedAt !== null && at <= this.confirmedAt) return;
    this.confirmedAt = at;
    this.confirmedBy = by;
  }

  /** A small read (health check, re-read of a few keys) answered after `ms`. */
  answered(ms: number): void {
    this.lastRead = { ms, at: Date.now() };
  }

  /**
   * A full read succeeded: reachable, confirmed now. `polling`: why the feed is not used, if so.
   * True when this ends a failure (the store is back).
   */
  markGood(polling: string | null): boolean {
    const back = this.failedSince !== null;
    this.state = "ok";
    this.message = polling ? `polling: ${polling}` : "";
    this.confirm("read");
    this.failedSince = null;
    this.outageSince = null;
    return back;
  }

  /**
   * A read or check failed. `pending`: a check that stopped waiting while its answer may still
   * come (Health.late). True when the connection just became unreachable (publish it).
   */
  markFailed(err: unknown, pending = false): boolean {
    const was = this.state;
    this.state = "unreachable";
    this.message = err instanceof Error ? err.message : String(err);
    this.failedSince ??= Date.now();
    if (!pending) this.hardFailureAt = Date.now();
    if (was === "unreachable") return false;
    this.outageSince = this.confirmedAt;
    return true;
  }

  /** The last answer took longer than slowReadMs, not long ago. */
  private slowMs(): number | null {
    const r = this.lastRead;
    return r && r.ms > this.slowReadMs && Date.now() - r.at < SLOW_SHOWN_MS ? Math.round(r.ms) : null;
  }

  /** The status, message, server and slowness a status event shows. */
  shown(): { status: ConnectionStatus; message: string; server: string | undefined; slowMs: number | null } {
    // A store that answers, only slowly, is "degraded: slow" (with its data's age), not down:
    // its last answer was slow, and nothing has failed outright since (a check that timed out
    // but whose answer may still come does not count; if that answer never comes, it does).
    const slowMs = this.slowMs();
    const slow = slowMs !== null && (this.state === "ok" || this.lastRead!.at >= this.hardFailureAt);
    // Reads that still work do not make a store that says it is degraded healthy.
    const note = this.state === "ok" ? this.healthNote : null;
    return {
      status: slow || note ? "degraded" : this.state,
      message: slow
        ? `slow: the store took ${(slowMs / 1000).toFixed(1)} s to answer its last read${this.state === "ok" ? (note ? `; ${note}` : "") : `, and ${this.message}`}`
        : (note ?? this.message),
      server: this.server,
      slowMs,
    };
  }

  /**
   * How current the view is: the one place every age and the staleness are computed.
   * `behindSince`: since when the live feed's batch not applied yet arrived (FeedLoop.catchingUpSince).
   */
  freshness(now: number, staleAfterMs: number, behindSince: number | null = null): Freshness {
    const stale = this.isStale(now, staleAfterMs, behindSince);
    const age = this.confirmedAt === null ? null : Math.max(0, now - this.confirmedAt);
    return {
      now: new Date(now).toISOString(),
      confirmedAt: this.confirmedAt === null ? null : new Date(this.confirmedAt).toISOString(),
      confirmedBy: this.confirmedBy,
      confirmedAgeMs: age,
      stale,
      staleAgeMs: stale ? age : null,
      outageSince: this.state === "ok" || this.outageSince === null ? null : new Date(this.outageSince).toISOString(),
    };
  }

  /**
   * Stale = unreachable, never confirmed, not confirmed for longer than `staleAfterMs`, or
   * catching up: changes the live feed delivered more than CATCHING_UP_MS ago not applied yet.
   */
  isStale(now: number, staleAfterMs: number, behindSince: number | null = null): boolean {
    if (this.state !== "ok" || this.confirmedAt === null) return true;
    if (behindSince !== null && now - behindSince > CATCHING_UP_MS) return true;
    return now - this.confirmedAt > staleAfterMs;
  }
}
