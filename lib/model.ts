// The lock model shared by adapters, decoders, the hub, the API and the UI.
// Shapes may grow; renaming a field means updating docs/architecture.md, the API and e2e tests.

import type { ReleaseMode as RegisteredReleaseMode, StoreKind as RegisteredKind } from "./stores";

/** The kinds in the store registry (lib/stores/index.ts). */
export type StoreKind = RegisteredKind;

/**
 * ownerKey: the client that holds or waits, as the store identifies it — the same string wherever
 * the same client appears on one connection, so a holder of one lock and a waiter of another can
 * be told to be one client (the wait-for graph, lib/waits). Set by the decoders (pure):
 *   Redisson      "redisson:<client uuid>:<thread id>" (locks belong to a thread)
 *   etcd          "lease:<lease id hex>" (a concurrency.Session is one lease)
 *   ZooKeeper     "session:0x<ephemeralOwner>"
 *   Consul        "session:<session id>"
 *   memory store  "owner:<owner>"
 * Absent where the layout records no client identity: plain token locks (node-redlock,
 * go-redsync, python-redis-lock, SET NX), Redisson semaphores, persistent znodes, keys that are
 * not the library's layout. Such holders and waiters are not in the wait-for graph.
 */
export type OwnerKey = string;

/** Whether the holder's client is still there, where the store can tell (lib/stores/<kind>). */
export interface Liveness {
  /** alive: the store shows the client connected/renewing; dead: it shows it gone or failing. */
  state: "alive" | "dead" | "unknown";
  /** In words: "connected from 10.0.0.7:53122", "node web-3: check service:api critical", "cons not whitelisted". */
  reason: string;
  /** ZooKeeper: the client's address and its last request's answer time, from the server's `cons`. */
  clientAddress?: string;
  lastActivity?: string;
  /** Consul: the session's node and the node's checks that are not passing. */
  node?: string;
  failingChecks?: Array<{ id: string; status: string; name?: string }>;
}

export interface Holder {
  id: string;
  /** Who holds it, in words read from the store (client address, JSON fields, session name). */
  owner?: string;
  /** The holding client's identity on this connection (see OwnerKey); absent when the layout has none. */
  ownerKey?: OwnerKey;
  /** Is the holding client still there? Only where the store can tell. */
  liveness?: Liveness;
  /** What `owner` is, when the layout says so but not the text itself (e.g. "client address or id"). */
  ownerNote?: string;
  /** When the holding started: from the store where it records it, else when LockDeck first saw it. */
  since?: string;
  /** True when `since` is LockDeck's first sighting rather than a time the store recorded. */
  sinceObserved?: boolean;
  /** Where `since` comes from (the UI labels the age with it); set by the hub. */
  sinceSource?: SinceSource;
  reentrancy?: number;
  /** When this holding ends on its own (Redisson permit lease), as the store records it. */
  expiresAt?: string;
  /** keys: the ones under the connection's scope; keysElsewhere: how many more it carries outside it (never named). */
  lease?: { id: string; ttlMs: number; grantedTtlMs: number; keys?: string[]; keysElsewhere?: number };
  session?: {
    id: string;
    name?: string;
    node?: string;
    behavior?: string;
    lockDelayMs?: number;
    ttl?: string;
  };
}

export interface Waiter {
  id: string;
  position: number;
  /** When it joined the queue: from the store where it records it, else LockDeck's first sighting. */
  since?: string;
  sinceSource?: SinceSource;
  deadline?: string;
  owner?: string;
  ownerNote?: string;
  /** The waiting client's identity on this connection (see OwnerKey); absent when the layout has none. */
  ownerKey?: OwnerKey;
}

/** Where a `since` comes from, so an age can be labelled. */
export type SinceSource =
  /** Recorded by the store (ZooKeeper ctime, …): exact. */
  | "store"
  /** LockDeck's first sighting: the holding (or wait) is at least this old. */
  | "first-seen"
  /** LockDeck saw this holder take over from the queue (a handover): when it became the holder. */
  | "became-holder";

/** Waiters the store counts but does not name (Redisson clients subscribed to the lock's channel). */
export interface AnonymousWaiters {
  count: number;
  /** Where the count comes from, in the store's words, e.g. "PUBSUB NUMSUB redisson_lock__channel:{orders}". */
  source: string;
  /** First time LockDeck saw the count above zero (ISO): the oldest of these waits is at least this old. */
  since: string;
}

export type LockKind = "mutex" | "rwlock" | "semaphore" | "election";
export type LockState = "held" | "free" | "unknown";
export type TtlSource = "pttl" | "lease" | "session" | "zk-session" | "none";

export interface LockRecord {
  connection: string;
  /** Canonical key that identifies the lock in the store (see lib/keys.ts for binary keys). */
  key: string;
  name: string;
  format: string;
  /** The library this layout most likely comes from, where the layout tells (a guess for plain tokens). */
  library?: string;
  kind: LockKind;
  state: LockState;
  holders: Holder[];
  waiters: Waiter[];
  /** Waiters the store only counts (no ids, no order); absent when none or unknown. Set by the hub. */
  anonymousWaiters?: AnonymousWaiters;
  /**
   * Remaining time as the STORE reported it at observedAt. null = never expires with ttlSource
   * "pttl" or "none"; otherwise the store does not report it: "lease", a lease whose TTL could
   * not be read (a lease always expires); "session" / "zk-session", a holding that lives as long
   * as its session (Consul reports the configured TTL only, ZooKeeper nothing).
   */
  ttlMs: number | null;
  ttlSource: TtlSource;
  fencingToken?: string;
  /**
   * The exact holding observed, compact and server-only: a release is conditional on it. The
   * API never sends it; it sends a fence made from it on demand (lib/fence.ts fenceOf).
   */
  holding: Holding;
  observedAt: string;
  consistency: string;
  warnings: string[];
  /** Other store keys that belong to this lock (queues, timeout sets, signal lists). */
  relatedKeys?: string[];
  /** Semaphores: permits still free, as the store reports them. */
  permitsFree?: number;
  /** A short, escaped preview of the raw store value(s). */
  raw?: RawPreview[];
  /**
   * Holdings that ended in the change this record was read for, where the store told how
   * (Consul: the holder's session ended — invalidated or destroyed — in the very transaction that
   * let the lock go: lib/stores/consul/ends.ts). Only on the read that saw the end.
   */
  ended?: Array<{ session: string; cause: "session-ended" }>;
}

/**
 * Store-specific identity of a holding (revisions, sessions, znode versions, a token's digest),
 * as a fence names it (its `h`). One compact form is kept only in memory: a Redis token whose
 * value is its holder id verbatim, {t: "token", v}, digested when a fence is made.
 */
export type Holding = Record<string, string | number | null>;

/**
 * A lock as the API sends it: no holding; instead an opaque fence (lib/fence.ts) naming it,
 * made for this answer, empty for those who may not release. Releases act on one of these.
 */
export type LockView = Omit<LockRecord, "holding"> & {
  /** Opaque: the exact holding observed; force-release is conditional on it (lib/fence.ts). */
  fence: string;
};

export interface RawPreview {
  key: string;
  type: string;
  /** Escaped text, or hex when the bytes are not text. Never rendered as HTML. */
  preview: string;
  encoding: "text" | "hex" | "json";
  size: number;
  truncated: boolean;
}

/** Something under a lock pattern that could not be read or decoded as a lock. */
export interface Problem {
  key: string;
  code: string;
  message: string;
}

/**
 * A snapshot problem with this code says the snapshot did not read the prefix in its key (over
 * the connection's bounds): the hub keeps the locks it last read under it, warned "not-reread".
 */
export const UNREAD_PREFIX = "prefix-too-large";

export interface LockSnapshot {
  locks: LockRecord[];
  problems: Problem[];
  observedAt: string;
  consistency: string;
}

export type ConnectionStatus = "ok" | "degraded" | "unreachable";

export interface Health {
  status: ConnectionStatus;
  message: string;
  /** e.g. "Redis 7.0.15 standalone" */
  server?: string;
  /**
   * Set when the check stopped waiting (its timeout) while its request is still out: resolves
   * null once the store answers after all, or with why it never did. Never rejects. A store
   * whose answers come late is slow, not down (the hub shows "slow" while they keep coming).
   */
  late?: Promise<string | null>;
}

/** Every mode some store offers; each store's modes, and what they do, are in its module (lib/stores/<kind>/module.ts). */
export type ReleaseMode = RegisteredReleaseMode;

export type ReleaseOutcome =
  | { status: "released"; detail?: string }
  | { status: "changed"; current: LockRecord | null }
  | { status: "gone" }
  | { status: "refused"; reason: string }
  /** The store itself refused on permissions (Redis NOPERM, etcd permission denied, ZooKeeper NoAuth, Consul 403): nothing changed. */
  | { status: "denied"; reason: string }
  | { status: "unknown"; reason: string };

export type UpdateMode = "live" | "polling";

/** What the adapter tells the hub to re-read after a push notification. */
export interface StoreChange {
  keys: string[];
  /** The feed lost events (reconnect, compaction): the hub must take a full snapshot. */
  resync?: boolean;
}

/** Why a key is refused on a connection, before any store call (lib/stores/<kind>/scope.ts). */
export interface KeyProblem {
  /** bad_key: the store cannot hold or address such a key; out_of_scope: outside what the connection covers. */
  code: "bad_key" | "out_of_scope";
  /** Names the field: "key: ..." */
  message: string;
}

export interface RereadResult {
  locks: LockRecord[];
  /** Lock keys read that no longer hold a lock. */
  gone: string[];
  /** Problems found under the keys read (and under `covers`); the hub replaces the ones it had there. */
  problems: Problem[];
  /**
   * Problem keys that are no lock key but that this re-read answers for (etcd's "(leases)": a
   * TTL still unknown): their problems are replaced by the ones reported, none if none is.
   */
  covers?: string[];
}

export interface StoreAdapter {
  readonly kind: StoreKind;
  /** The lock formats this store's decoders produce: a fence of any other format is refused. */
  readonly formats: readonly string[];
  /**
   * Scope: null when the connection covers this lock key (its patterns / prefixes / roots) and
   * the store can address it, else why not. Pure. Reads by key and releases ask it before any
   * store call; forceRelease also checks every key, node, session and lease its fence names.
   */
  keyProblem(key: string): KeyProblem | null;
  /** How the view follows the store: live (and by which feed, e.g. "client tracking"), or polling. */
  readonly updateMode: () => { mode: UpdateMode; intervalMs?: number; feed?: string };
  /**
   * True when watch()'s first item is {resync: true} once its feed is subscribed: the hub then
   * takes its first snapshot at that moment and not before as well (subscribe, read, then apply
   * what arrived meanwhile: one full read at start-up, and no write missed in between).
   */
  readonly watchBeforeSnapshot?: boolean;
  health(signal: AbortSignal): Promise<Health>;
  /**
   * Set on an adapter that serves another process's reads of the store (a replica following the
   * reading replica: lib/shared/replicated.ts), while it does: until when, on THIS process's
   * clock, that reader had confirmed the view it published (null: not known). The hub never
   * dates a confirmation of its view later than that, and a lock page re-reads its TTL from the
   * store itself. Undefined while this process reads the store.
   */
  relayed?(): { confirmedAt: number | null } | undefined;
  /** Whole or an error, never partial. */
  snapshot(signal: AbortSignal): Promise<LockSnapshot>;
  /** Re-read the locks that own these store keys; returns the lock keys touched and their new records. */
  reread?(keys: string[], signal: AbortSignal): Promise<RereadResult>;
  /** Push where the store can: yields batches of changed store keys. Ends when the signal aborts. */
  watch?(signal: AbortSignal): AsyncIterable<StoreChange>;
  /**
   * Waiters the store counts but does not name, for the locks given (held ones the adapter
   * knows a count for; others are left out of the map). Polled by the hub, since a waiter
   * arriving changes no key (Redisson: a subscription to the lock's channel). Null: not asked
   * here — the records come with their counts (a replica following another's reads).
   */
  anonymousWaiters?(locks: LockRecord[], signal: AbortSignal): Promise<Map<string, { count: number; source: string }> | null>;
  /** Fresh remaining TTLs for a few lock keys, straight from the store. */
  ttls?(keys: string[], signal: AbortSignal): Promise<Map<string, number | null>>;
  /**
   * Acts on the holding the fence of `lock` names (verified first: lib/stores/release-target.ts).
   * `target`: one holder's id (ReleasePlan.targets) to release alone; absent = the whole holding seen.
   */
  forceRelease(lock: LockView, mode: ReleaseMode, signal: AbortSignal, target?: string): Promise<ReleaseOutcome>;
  /** What a release would do, in the store's own words, for the dialog (for one target holder, if given). */
  describeRelease(lock: LockView, mode: ReleaseMode, target?: string): ReleasePlan;
  close(): Promise<void>;
}

export interface ReleasePlan {
  modes: ReleaseMode[];
  /** One line saying what this mode does (the dialog's mode choice). */
  title?: string;
  deletes: string;
  wakes?: string;
  command: string;
  holderNotified: boolean;
  notes: string[];
  /**
   * Holders this mode can release one at a time (Consul semaphore: one slot), with a label;
   * the release request names one in `target`, the plan for it says so in its title.
   * Absent: the release acts on the whole holding seen.
   */
  targets?: { id: string; label: string; /** The modes a release of this one holder offers (absent: the plan's). */ modes?: ReleaseMode[] }[];
  /** The holder this plan is for, when it was asked for one target. */
  target?: string;
}
