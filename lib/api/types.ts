// Shapes of API answers (and the release request) that the route handlers build and the
// components read, declared once. Pure types (no runtime code, type-only imports): safe to
// import from client components. Route handlers check what they send with `satisfies`;
// components/api.ts re-exports these under the names the UI uses.

import type { z } from "zod";
import type { ConnectionStatus, LockView, Problem, ReleaseMode, ReleasePlan, UpdateMode } from "../model";
import type { LockStatus } from "../status";
import type { Role } from "../auth/config";
import type { ConsistencyOption } from "../stores/module";
import type { ConnectionStatusEvent } from "../hub/bus";
import type { AuditEntry, ChainProblem } from "../audit/log";
import type { ReleaseBody } from "./release";
import type { Incident, LockHistory, TopRow } from "../history/query";

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

// History answers (GET /api/history → HistoryAnswer, GET /api/contention/top → TopAnswer); their
// parts are declared beside their builders in lib/history/query.ts.
export type { Incident, LockHistory, TopRow };
export type { AuditEntry, ChainProblem, ConnectionStatus, ConnectionStatusEvent, UpdateMode };

/** GET /api/whoami: who the browser is (actor null: nobody signed in). */
export interface WhoamiAnswer {
  actor: string | null;
  role: Role | null;
  method: "local" | "session" | "proxy" | null;
  canRelease: boolean;
  canSettings: boolean;
  /** The console has users: the UI shows sign-in when actor is null. */
  signInRequired: boolean;
}

/** Lock counts per state word (lib/status.ts), plus the read problems. */
export type StatusCounts = Record<LockStatus | "problems", number>;

/** A connection's health and read mode as the hub answers it (a `status` event and more). */
export interface ConnectionStatusAnswer extends ConnectionStatusEvent {
  message: string;
  consistency: string;
  /** The store's own server name/version, where it says. */
  server?: string;
  /** How long the last full snapshot read took (ms); null before the first. */
  snapshotMs: number | null;
  /** The last read was slow (ms), else null. */
  slowMs: number | null;
  reads: { inFlight: number; peak: number; max: number; deadlineMs: number };
}

/** One row of GET /api/connections: never credentials, not even the store's address. */
export interface ConnectionSummary extends ConnectionStatusAnswer {
  id: string;
  kind: string;
  label: string;
  readOnly: boolean;
  counts: StatusCounts;
}

/** GET /api/connections/:id/locks: one page of the filtered, sorted table. */
export interface LocksPage extends Freshness {
  observedAt: string | null;
  consistency: string;
  mode: UpdateMode;
  /** The live feed, e.g. "client tracking (prefixes lock:)" or "keyspace events". */
  feed?: string;
  pollIntervalMs?: number;
  total: number;
  offset: number;
  /** With their fences (empty for viewers). */
  locks: LockView[];
  problems: Problem[];
  nextCursor: string | null;
  formats: string[];
  /** Whether this page's TTLs were re-read from the store for this answer (lib/hub/fresh.ts); null: none to re-read. */
  ttls: TtlReads | null;
}

/**
 * The fresh TTL read of a locks page (locks whose ttlSource is "pttl" or "lease"; the store
 * has no other TTL to re-read). Every lock's own observedAt says when its TTL was reported.
 */
export interface TtlReads {
  /**
   * True: every such lock's TTL was read from the store for this answer. False: the store did
   * not answer (the read failed or timed out, the connection is unreachable, or its answer left
   * some out): those locks show the newest TTL the store gave for their holding, never higher.
   */
  fresh: boolean;
  /** Fresh: when they were read. Not fresh: the oldest reading shown among the locks not re-read (ISO). */
  readAt: string | null;
  /** Not fresh: why the TTLs were not re-read. */
  error?: string;
}

/** GET /api/connections/:id/lock?key=: the lock re-read from the store, and what a release would do. */
export interface LockDetail extends Freshness {
  lock: LockView;
  /** Other locks on the same lease or session (its blast radius). */
  related: string[];
  /** The plan of the default mode (the first of plan.modes). */
  plan: ReleasePlan;
  /** What each offered mode would do. */
  plans: Partial<Record<ReleaseMode, ReleasePlan>>;
  /** Holders a release can act on alone (plan.targets): holder id → mode → plan for that holder only. */
  targetPlans?: Record<string, Partial<Record<ReleaseMode, ReleasePlan>>>;
  /** A mode of the plan acts on a lock nobody holds (an empty ZooKeeper lock parent): the button's label for it. */
  freeLockRelease?: string;
  mode: UpdateMode;
  pollIntervalMs?: number;
  consistency: string;
  /** The re-read was cut at its deadline: the record shown is the last one read. */
  readError?: string;
}

/** GET /api/audit: the trail, newest first, with what checking its hash chain found. */
export interface AuditAnswer {
  entries: AuditEntry[];
  /** Id (or "line N") of the first place the hash chain does not verify, else null. */
  chainBrokenAt: string | null;
  /** Every torn line (a write that did not finish) and chain mismatch (an edit), in file order. */
  chainProblems: ChainProblem[];
  /** Set while the trail cannot be written: releases are refused until it can. */
  writeFailure: { at: string; message: string } | null;
  /** Every replica's trail (a shared PostgreSQL) or this one's. */
  source: "shared" | "local";
}

/** GET/PUT /api/connections/:id/settings: the read mode, the modes this connection can use, WAIT replicas. */
export interface ConnectionSettings {
  consistency: string;
  options: ConsistencyOption[];
  /** Replicas a release WAITs for (Redis); null where it does not apply. */
  waitReplicas: number | null;
}

/** POST /api/connections/:id/lock/release, as the browser sends it (lib/api/release.ts ReleaseBody). */
export type ReleaseRequest = z.input<typeof ReleaseBody>;

/** One row of GET /api/approvals: a release held by the two-person rule. */
export interface PendingApproval {
  id: string;
  connection: string;
  key: string;
  reason: string;
  mode: string;
  requester: string;
  createdAt: string;
  expiresAt: string;
}

/** Whether history is being written (paused: the store failed; message says why). */
export interface Recording {
  paused: boolean;
  message: string | null;
}

/** How fine a connection's history is: every change (live) or every poll. */
export interface Resolution {
  mode: "live" | "polling";
  resMs: number;
}

/** GET /api/history: one lock's series. */
export type HistoryAnswer = LockHistory & { resolution: Resolution; recording: Recording };

/** GET /api/contention/top: the most contended locks in a window, the incidents and gaps in it. */
export interface TopAnswer {
  from: number;
  to: number;
  step: number;
  locks: TopRow[];
  incidents: Incident[];
  gaps: HistoryGap[];
  resolution: Record<string, Resolution>;
  recording: Recording;
}
