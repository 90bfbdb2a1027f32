// Shapes shared by the recorder, the stores (sqlite) and the API. A LifeEvent is one thing
// that happened to one lock, derived from the hub's changes (lib/history/derive.ts).

export type LifeKind =
  /** A holder appeared. waitMs = how long it had been queued (0 when it was not seen waiting). */
  | "acquired"
  /** A holder went away before its last known expiry. holdMs = how long it held. */
  | "released"
  /**
   * A holder went away at or after its last known expiry (its lease ran out), or after the store
   * showed its client gone or failing (cause "holder-gone"), or its session ended with it
   * (cause "session-ended").
   */
  | "expired"
  /** A release matched a force-release intent in the audit log (lib/history/audit-tail.ts). */
  | "force-released"
  /** One holder ended and another began in the same change (holder changed). */
  | "handover"
  | "waiter-joined"
  /** A waiter left without becoming holder (gave up, timed out, cancelled). waitMs = time queued. */
  | "waiter-left"
  /** First sighting of a holder that was already there when recording started (not an acquisition). */
  | "seen"
  /**
   * A holding that vanished while LockDeck could not see the store (an outage, or the console
   * was down): it ended somewhere in the gap, not necessarily released. `at` is the gap's start
   * (the last time it was known held), `holdMs` a lower bound, `cause` what is known of why.
   */
  | "lost";

export interface LifeEvent {
  /** ms since epoch. For "acquired": when the holding began (store time where the store records it). */
  at: number;
  connection: string;
  key: string;
  kind: LifeKind;
  holder?: string;
  owner?: string;
  holdMs?: number;
  waitMs?: number;
  /** Queue depth right after this change. */
  waiters: number;
  /** Time resolution of this observation: 0 = live feed, else the polling interval in ms. */
  resMs: number;
  /**
   * lost: "ttl-ran-out" (its last known expiry passed in the gap), "session-gone" (its session
   * or lease holds nothing any more), "console-down" (LockDeck itself was down), "unknown";
   * expired: "holder-gone" (the store had shown its client gone or failing), "session-ended" (its
   * session ended in the change that let the lock go: Consul), else its TTL ran out;
   * waiter-left: "gap" when it left unseen during a gap.
   */
  cause?: string;
}

/** Histogram bucket upper bounds (ms), shared by roll-ups and Prometheus; +Inf is implied. */
export const BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000] as const;

/** One minute of one lock, aggregated from raw events before they age out. */
export interface Rollup {
  connection: string;
  key: string;
  /** Minute start, ms since epoch. */
  minute: number;
  acquisitions: number;
  handovers: number;
  forceReleases: number;
  expiries: number;
  maxWaiters: number;
  holdCount: number;
  holdSumMs: number;
  waitCount: number;
  waitSumMs: number;
  /** Counts per BUCKETS_MS bucket, plus one for +Inf (length BUCKETS_MS.length + 1). */
  holdHist: number[];
  waitHist: number[];
}

export interface HistorySettings {
  storage: "sqlite" | "postgres";
  /** PostgreSQL connection string (storage "postgres"). */
  postgresUrl?: string;
  rawRetentionMs: number;
  rollupRetentionMs: number;
  longHoldMs: number;
  longWaitMs: number;
  metricsTopN: number;
}
