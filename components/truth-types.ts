// Answer fields the server adds for issue 16 (branch truth-data: lib/api/types.ts, lib/model.ts,
// lib/history/query.ts), as the UI reads them. Every field is optional here, so the UI keeps a
// sensible rendering against a server that does not send it yet. When both branches are merged
// these mirror the server's declarations one to one and can become re-exports of them.

import type { Holder, LockRecord, ReleasePlan, Waiter } from "@/lib/model";
import type { Incident, LockHistory, TopRow } from "@/lib/history/query";

/** How current a connection's view is (lib/api/types.ts Freshness): one age behind every view. */
export interface Freshness {
  /** Server time when the answer was made (ISO): ages are "now − since" on the server's clock. */
  now?: string;
  /** Last time the view was confirmed (a store read, or a health check while the live feed is open). */
  confirmedAt?: string | null;
  confirmedBy?: "read" | "live-feed" | null;
  confirmedAgeMs?: number | null;
  stale: boolean;
  /** When stale: the one staleness age shown everywhere (now − confirmedAt). */
  staleAgeMs: number | null;
  /** While unreachable: the last confirmation before the failure (ISO). */
  outageSince?: string | null;
}

/** Where a `since` comes from (lib/model.ts SinceSource). */
export type SinceSource = "store" | "first-seen" | "became-holder";

/** Waiters the store counts but does not name (Redisson clients subscribed to the lock's channel). */
export interface AnonymousWaiters {
  count: number;
  /** Where the count comes from, in the store's words ("PUBSUB NUMSUB redisson_lock__channel:{orders}"). */
  source: string;
  /** First time the count was seen above zero (ISO). */
  since: string;
}

export type HolderView = Holder & { sinceSource?: SinceSource };
export type WaiterView = Waiter & { sinceSource?: SinceSource };
export type LockView = LockRecord & { anonymousWaiters?: AnonymousWaiters };

/** One holder a release can act on alone (a Consul semaphore's slot). */
export interface ReleaseTarget {
  id: string;
  label: string;
}
export type PlanView = ReleasePlan & { targets?: ReleaseTarget[]; target?: string };

/** What holds the lock right after a release (read back from the store). */
export interface AfterRelease {
  state: "held" | "free" | "gone" | "unknown";
  holders: { id: string; owner?: string; since?: string }[];
  waiters: number;
  observedAt: string | null;
}

/** The last things history and the audit log know of a lock that is gone (404 of GET …/lock). */
export interface GoneLock {
  last: { at: number; kind: string; holder?: string; owner?: string; holdMs?: number; cause?: string } | null;
  release: { at: string; actor: string; reason: string; outcome?: string; mode?: string } | null;
}

/** A stretch of time in which LockDeck could not see a store (or anything at all). */
export interface HistoryGap {
  id: string;
  connection: string | null;
  kind: "store-unreachable" | "console-down";
  from: number;
  to: number | null;
  detail?: string;
}

/** Waits in progress, for "waiting now" / "longest current wait". */
export interface CurrentWaits {
  waitingNow?: number;
  longestCurrentWaitMs?: number | null;
  anonymous?: number;
}

export type TopRowView = TopRow & CurrentWaits & { lost?: number; cellWaiters?: number[] };
export type IncidentView = Omit<Incident, "kind"> & { kind: Incident["kind"] | "lost"; ongoing?: boolean; cause?: string };
export type LockHistoryView = LockHistory &
  CurrentWaits & {
    buckets: Array<LockHistory["buckets"][number] & { waiting?: number }>;
    waitedTotalMs?: number;
    lost?: number;
    gaps?: HistoryGap[];
  };

/** One row of the overview's recent events, newest first. */
export interface RecentEvent {
  at: number;
  connection: string | null;
  key?: string;
  kind: "force-released" | "expired" | "lost" | "outage" | "console-down" | string;
  holder?: string;
  owner?: string;
  actor?: string;
  reason?: string;
  to?: number | null;
  cause?: string;
  ms?: number;
}

export interface TrendPoint {
  t: number;
  contended: number;
  waiters: number;
  locks: number;
  stale: boolean;
}

export interface Offender {
  connection: string;
  key: string;
  name: string;
  ms?: number;
  count?: number;
  holder?: string;
  owner?: string;
}

/** GET /api/overview. */
export interface OverviewAnswer {
  now: number;
  recent: RecentEvent[];
  trends: Record<string, TrendPoint[]>;
  trendStepMs: number;
  worst: { oldestWaiter: Offender[]; longestHold: Offender[]; mostWaiters: Offender[] };
  gaps: HistoryGap[];
  recording: { paused: boolean; message: string | null } | null;
}

/**
 * True when the server sends the issue-16 fields (freshness on connection rows), and so has
 * GET /api/overview: asking an older server would be a 404 in the browser's console.
 */
export function serverHasOverview(list: ReadonlyArray<{ confirmedAt?: unknown }> | undefined): boolean {
  return !!list?.some((c) => c.confirmedAt !== undefined);
}
