// Shapes of API answers that the route handlers build and the components read, declared once.
// Pure types (no runtime code): safe to import from client components. Server modules build
// these values; components/api.ts still copies some older shapes by hand (to be folded in here).

/**
 * How current a connection's view is. One set of numbers, computed in one place
 * (lib/hub/hub.ts `freshness()`), carried by `status` events, GET /api/connections rows,
 * GET …/locks pages and GET …/lock answers, so every view shows the same age.
 */
export interface Freshness {
  /** Server time when this answer was made (ISO). Ages are "now − since" against this clock. */
  now: string;
  /**
   * Last time the view was confirmed to match the store: a successful read, or — while the
   * live feed is open — a successful health check (the feed would have reported any change).
   */
  confirmedAt: string | null;
  /** What confirmed it last: a store read, or the live feed being healthy. */
  confirmedBy: "read" | "live-feed" | null;
  /** now − confirmedAt (ms); null before the first read. */
  confirmedAgeMs: number | null;
  /** The view may not match the store (unreachable, or no confirmation for too long). */
  stale: boolean;
  /** When stale: now − confirmedAt, the one staleness age shown everywhere; else null. */
  staleAgeMs: number | null;
  /** While unreachable: the last confirmation before the failure (ISO), i.e. where the gap starts. */
  outageSince: string | null;
}

// Part of LockRecord (lib/model.ts), re-exported so API consumers find every new field here.
export type { AnonymousWaiters, SinceSource } from "../model";

/** A stretch of time in which LockDeck could not see a store (or anything at all). */
export interface HistoryGap {
  id: string;
  /** null: the console itself was down (every connection). */
  connection: string | null;
  kind: "store-unreachable" | "console-down";
  /** ms since epoch: the last confirmation (or the last recorded moment) before the gap. */
  from: number;
  /** ms since epoch when the view was confirmed again; null while it lasts. */
  to: number | null;
  detail?: string;
}

/** A waiter present right now, for "waiting now" / "longest current wait". */
export interface CurrentWaits {
  /** Named waiters plus anonymous ones (anonymousWaiters.count). */
  waitingNow: number;
  /** now − the oldest waiter's since (ms); null when nobody waits. */
  longestCurrentWaitMs: number | null;
  /** Part of waitingNow that the store only counts (not identified). */
  anonymous: number;
}

/** One row of the overview's recent events (across connections), newest first. */
export interface RecentEvent {
  at: number;
  connection: string | null;
  key?: string;
  /** deadlock / holder-dead: from the alert rules (lib/alerts), whether or not a webhook is set. */
  kind: "force-released" | "expired" | "lost" | "outage" | "console-down" | "deadlock" | "holder-dead";
  holder?: string;
  owner?: string;
  /** Who released it and why (force-released, from the audit log). */
  actor?: string;
  reason?: string;
  /** Outages: when it ended (null while it lasts). */
  to?: number | null;
  /** Lost holdings: why we think it ended ("session-expired", "unknown", …). */
  cause?: string;
  ms?: number;
}

/** A point of a connection's trend (sampled by the recorder). */
export interface TrendPoint {
  t: number;
  contended: number;
  waiters: number;
  locks: number;
  stale: boolean;
}

/** Worst offenders across every connection, from the live views. */
export interface Offender {
  connection: string;
  key: string;
  name: string;
  ms?: number;
  count?: number;
  holder?: string;
  owner?: string;
}

export interface OverviewAnswer {
  now: number;
  recent: RecentEvent[];
  trends: Record<string, TrendPoint[]>;
  /** Sampling period of the trends (ms). */
  trendStepMs: number;
  worst: { oldestWaiter: Offender[]; longestHold: Offender[]; mostWaiters: Offender[] };
  gaps: HistoryGap[];
  recording: { paused: boolean; message: string | null } | null;
}

/** What holds the lock right after a release answer (read back from the store). */
export interface AfterRelease {
  state: "held" | "free" | "gone" | "unknown";
  holders: { id: string; owner?: string; since?: string }[];
  waiters: number;
  observedAt: string | null;
}

/** The last things history and the audit log know about a lock that is gone (404 of GET …/lock). */
export interface GoneLock {
  /** The last life event of the lock (released, expired, force-released, lost). */
  last: { at: number; kind: string; holder?: string; owner?: string; holdMs?: number; cause?: string } | null;
  /** The last force-release attempt on it, from the audit log. */
  release: { at: string; actor: string; reason: string; outcome?: string; mode?: string } | null;
}

// History answers (GET /api/history → LockHistory, GET /api/contention/top → { locks: TopRow[],
// incidents: Incident[], gaps, … }), declared beside their builders in lib/history/query.ts.
export type { Incident, LockHistory, TopRow } from "../history/query";
