// The recorder: subscribes to the hub's event bus (every connection, one bus), derives lock
// life events (derive.ts), keeps per-connection resolution (live, or polling every N ms) and
// writes batches to the history store once a second.
//
// Faults: the store may be missing, unwritable or full. Then the recorder is "paused": the
// live console is untouched (the bus listener only queues), the queue keeps up to MAX_QUEUE
// events (oldest dropped, counted; trimmed once a tenth over; what a query or a stop derived at
// once while the store was writing is not trimmed), and every tick tries again —
// reopening the store if it never opened — so recording resumes by itself. Nothing already
// written is touched.
//
// Replicas: SQLite is one file per replica, so each replica records its own history. With
// PostgreSQL, one replica writes (advisory lock, lib/history/postgres.ts); the others are on
// standby: they drop what they derived (the writer records the same changes) and answer queries.

import path from "node:path";
import type { EventBus, SequencedEvent } from "../hub/bus";
import type { LockRecord } from "../model";
import type { Renewed } from "../hub/renewals";
import { AuditTail, markForcedOnce, type ReleaseIntent } from "./audit-tail";
import { derive, expireDeparted, isAnonymous, refreshExpiry, withHolderSince, type DeriveContext, type Memo } from "./derive";
import type { HistoryGap, TrendPoint } from "../api/types";
import { segments } from "./stats";
import type { LiveView } from "./query";
import { MetricsState } from "./metrics-state";
import { PostgresHistoryStore } from "./postgres";
import { SqliteHistoryStore, type HistoryStore } from "./sqlite";
import type { HistorySettings, LifeEvent } from "./types";

export const MAX_QUEUE = 200_000;

export interface RecorderSource {
  /** The current records of a connection (for resync and expiry refresh); undefined if unknown. */
  records(connection: string): Iterable<LockRecord> | undefined;
  get(connection: string, key: string): LockRecord | undefined;
  /**
   * Keys whose record was replaced without a published change since the last call (renewals:
   * only the expiry moved), or "all" (every record may be new). Without it every memo's
   * expiry is compared with its record each tick.
   */
  renewals?(connection: string): Renewed | undefined;
  /** Per-connection figures for the overview's trend (sampled every trendStepMs). */
  sample?(): (Omit<TrendPoint, "t"> & { connection: string })[];
}

/** How often the trend is sampled, and how many points are kept (1 h). */
export const TREND_STEP_MS = 15_000;
const TREND_POINTS = 240;
/** A restart this long after the last heartbeat is a gap in the timeline (a few missed flushes are not). */
const RESTART_GAP_MS = 5_000;
/** How far back to look for holdings still open when the console went down. */
const OPEN_LOOKBACK_MS = 6 * 3_600_000;
/** How long a release intent can still mark a release as forced (markForced's window + the slowest polling). */
const INTENT_TTL_MS = 70_000;
/** At most this often a heartbeat is written when there is nothing else to write. */
const HEARTBEAT_MS = 5_000;
/** Locks reconciled per turn of the event loop after a resync (a few ms of derive each). */
const RECONCILE_SLICE = 2_000;
/** Events per write transaction (~15 ms of SQLite): a first snapshot of 100k locks is written in steps, not in one ~1 s block. */
const FLUSH_CHUNK = 2_000;
/** Memos visited per turn of the event loop by each tick's sweep. */
const SWEEP_SLICE = 20_000;
/** A resync's derivation waiting for the writer looks again this often. */
const DERIVE_RETRY_MS = 20;

export interface RecorderOptions {
  dataDir: string;
  settings: HistorySettings;
  /** Override the store (tests, PostgreSQL later). Called again after a failed open. */
  openStore?: () => HistoryStore;
  flushEveryMs?: number;
  compactEveryMs?: number;
  now?: () => number;
  /** Events kept queued while the store cannot take them (default MAX_QUEUE; tests use less). */
  maxQueue?: number;
}

export interface ConnectionResolution {
  mode: "live" | "polling";
  /** 0 when live; else the polling interval. */
  resMs: number;
  /** The first full snapshot has arrived: changes from here on are real acquisitions. */
  primed: boolean;
  status: string;
  /** The store is out of sight since this gap's start (open until the view is confirmed again). */
  outage: HistoryGap | null;
}

/** How the changes of one resync are derived: as of the resync, whenever they are applied. */
interface AsOf {
  at: number;
  baseline: boolean;
  gap?: DeriveContext["gap"];
}

/** A resync not fully reconciled yet: each lock's record as the hub had it then, until it is applied. */
interface PendingResync extends AsOf {
  records: Map<string, LockRecord>;
  /**
   * The first derivation of a connection (every lock gives a "seen" event) goes in key order,
   * so that its events are written in key order: SQLite then appends to the (connection, key,
   * at) index instead of inserting at a random place each time (300k events: 3.2 s → 1.0 s of
   * CPU). Other resyncs go in the records' order.
   */
  inKeyOrder: boolean;
  /** The keys, sorted on the first slice (not inside the hub's refresh), and the next to derive. */
  sorted?: string[];
  next: number;
}

/** A waiter present now, as the recorder's memos know it (named or anonymous). */
export interface CurrentWait {
  connection: string;
  key: string;
  id: string;
  since: number;
  anonymous: boolean;
}

export class Recorder {
  readonly metrics = new MetricsState();
  readonly connections = new Map<string, ConnectionResolution>();
  private memos = new Map<string, Map<string, Memo>>();
  /** Per connection, the keys whose memo holds departures (the only memos a tick must look at for them). */
  private departing = new Map<string, Set<string>>();
  /** Connections with memos derived from a resync's records since the last full expiry pass (those records may have been renewed since). */
  private rederived = new Set<string>();
  private queue: LifeEvent[] = [];
  /**
   * How many queued events the cap may not trim: what a query, a new resync or a stop had to
   * derive at once (reconcileAll) beyond the cap while the store was writing. At 1M locks that
   * was up to ~800k `seen` events dropped. It shrinks as the writer writes; while the store is
   * away nothing new is exempt (the cap bounds memory then).
   */
  private exempt = 0;
  private dropped = 0;
  private written = 0;
  private store: HistoryStore | null = null;
  private error: string | null = null;
  private pausedSince: number | null = null;
  private nextOpenAt = 0;
  private flushing = false;
  private standby = false;
  private timers: ReturnType<typeof setInterval>[] = [];
  private unsubscribe: (() => void) | null = null;
  private readonly audit: AuditTail;
  private readonly now: () => number;
  /** Gaps opened or closed since the last flush (written with the next batch). */
  private gapQueue: HistoryGap[] = [];
  /** Events of the queue's head being written right now (not "pending" for queries meanwhile). */
  private inFlight = 0;
  private lastHeartbeat = 0;
  /** When this recorder started: the end of a console-down gap before it. */
  readonly startedAt: number;
  /** Holdings open when the previous process stopped, per connection, until its first snapshot here. */
  private openBefore: Map<string, Map<string, { holder: string; owner?: string; start: number }[]>> | null = null;
  /**
   * Holdings still there after a restart whose memo is not derived yet (a resync's slices): per
   * connection, key → holder → the start the previous process recorded. The memo takes it when
   * derived, so a later end reports the whole hold, not the time since the restart (audit F11).
   */
  private carried = new Map<string, Map<string, Map<string, number>>>();
  /** When the previous process was last alive (its last heartbeat); null = unknown or not checked yet. */
  private downSince: number | null = null;
  private restartChecked = false;
  private readonly trendRing = new Map<string, TrendPoint[]>();
  /** Sessions still seen on a connection when a gap closes (to tell "session gone" from "unknown"). */
  private liveSessions = new Map<string, Set<string>>();
  /** Release intents read from the audit log in the last INTENT_TTL_MS. */
  private intents: ReleaseIntent[] = [];
  /** Resyncs still being reconciled, per connection (in slices, off the hub's path). */
  private pending = new Map<string, PendingResync>();
  /** Cancels the next slice of a pending resync's derivation, when one is scheduled. */
  private slicing: (() => void) | null = null;

  constructor(
    private readonly bus: EventBus,
    private readonly source: RecorderSource,
    private readonly opts: RecorderOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.audit = new AuditTail(path.resolve(/*turbopackIgnore: true*/ opts.dataDir, "audit.jsonl"));
    this.audit.read();
  }

  private get maxQueue(): number {
    return this.opts.maxQueue ?? MAX_QUEUE;
  }

  get settings(): HistorySettings {
    return this.opts.settings;
  }

  start(): this {
    this.unsubscribe = this.bus.subscribe((e) => this.onEvent(e));
    this.tryOpen();
    const flush = setInterval(() => void this.flush(), this.opts.flushEveryMs ?? 1_000);
    const compact = setInterval(() => void this.compact(), this.opts.compactEveryMs ?? 10 * 60_000);
    const trend = setInterval(() => this.sampleTrend(), TREND_STEP_MS);
    flush.unref?.();
    compact.unref?.();
    trend.unref?.();
    this.timers.push(flush, compact, trend);
    return this;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    this.reconcileAll();
    this.lastHeartbeat = 0; // the last heartbeat says when this process stopped recording
    await this.flush();
    await this.store?.close().catch(() => undefined);
    this.store = null;
  }

  /** What the UI shows next to history: paused (and why), queue, resolution per connection. */
  state() {
    return {
      storage: this.store?.kind ?? this.opts.settings.storage,
      standby: this.standby,
      paused: this.error !== null,
      pausedSince: this.pausedSince,
      message: this.error,
      queued: this.queue.length,
      dropped: this.dropped,
      written: this.written,
      connections: Object.fromEntries(this.connections),
    };
  }

  /** The open store for queries; null when it could not be opened (history unavailable). */
  reader(): HistoryStore | null {
    if (!this.store) this.tryOpen();
    return this.store;
  }

  // ---- from the bus --------------------------------------------------------------------------

  onEvent(e: SequencedEvent): void {
    const at = this.now();
    const conn = this.resolution(e.connection);
    switch (e.type) {
      case "status": {
        const d = e.data;
        const mode = d.mode === "live" ? "live" : "polling";
        if (d.status === "unreachable" && conn.status !== "unreachable") {
          this.metrics.readError(e.connection);
          // Out of sight from the last confirmation on: a marked gap, written at once.
          if (conn.primed && !conn.outage) {
            const from = Date.parse(d.outageSince ?? d.confirmedAt ?? "") || at;
            conn.outage = {
              id: `${e.connection}:${from}`,
              connection: e.connection,
              kind: "store-unreachable",
              from,
              to: null,
              detail: d.message || undefined,
            };
            this.gapQueue.push({ ...conn.outage });
          }
        }
        if (d.status !== "unreachable" && d.outageSince == null && conn.outage) {
          // The store answers again ("ok", or "degraded": slow, no leader) and the re-list that
          // ends the gap has been applied (the hub publishes it before this status). A late,
          // slow answer to a health check shows "degraded" before that re-list, with the outage
          // still open (outageSince set, confirmedAt the old time): the gap stays open, so what
          // the re-list finds gone is lost in the gap, not released or expired as if seen live.
          this.gapQueue.push({ ...conn.outage, to: Date.parse(d.confirmedAt ?? "") || at });
          conn.outage = null;
          this.liveSessions.delete(e.connection);
        }
        conn.status = d.status;
        conn.mode = mode;
        conn.resMs = mode === "live" ? 0 : (d.pollIntervalMs ?? 5_000);
        if (d.observedAt !== null && !conn.primed) {
          conn.primed = true;
          this.settleRestart(e.connection);
        }
        return;
      }
      case "upsert":
        return this.apply(e.connection, e.data.lock.key, e.data.lock, at);
      case "remove":
        return this.apply(e.connection, e.data.key, null, at);
      case "resync":
        return this.reconcile(e.connection, at);
    }
  }

  private resolution(connection: string): ConnectionResolution {
    let r = this.connections.get(connection);
    if (!r) {
      r = { mode: "live", resMs: 0, primed: false, status: "unreachable", outage: null };
      this.connections.set(connection, r);
    }
    return r;
  }

  private memosOf(connection: string): Map<string, Memo> {
    let m = this.memos.get(connection);
    if (!m) this.memos.set(connection, (m = new Map()));
    return m;
  }

  /** A change from the bus: after the lock's part of a resync still pending, so its events keep their order. */
  private apply(connection: string, key: string, rec: LockRecord | null, at: number): void {
    const p = this.pending.get(connection);
    const before = p?.records.get(key);
    if (p && before) {
      p.records.delete(key);
      this.derivePush(connection, key, before, p);
    }
    this.derivePush(connection, key, rec, this.asOf(connection, at));
  }

  /** How a change seen now is derived: before the first snapshot is complete it is the baseline; during an outage it closes the gap. */
  private asOf(connection: string, at: number): AsOf {
    const conn = this.resolution(connection);
    // A change that arrives while the connection is out of sight is the re-list that closes the gap.
    const gap = conn.outage && conn.primed ? { from: conn.outage.from, liveSessions: this.sessionsOf(connection) } : undefined;
    return { at, baseline: !conn.primed, gap };
  }

  private derivePush(connection: string, key: string, rec: LockRecord | null, as: AsOf): void {
    const memos = this.memosOf(connection);
    const resMs = this.resolution(connection).resMs;
    const { memo, events } = derive(memos.get(key), rec, { connection, key, at: as.at, resMs, baseline: as.baseline, gap: as.gap });
    this.setMemo(connection, memos, key, this.withCarried(connection, key, memo));
    for (const ev of events) this.push(ev);
  }

  /** The memo with the starts carried over a restart for its key (once: the first derivation after it). */
  private withCarried(connection: string, key: string, memo: Memo | undefined): Memo | undefined {
    const byKey = this.carried.get(connection);
    const starts = byKey?.get(key);
    if (!starts) return memo;
    byKey!.delete(key);
    if (byKey!.size === 0) this.carried.delete(connection);
    let out = memo;
    for (const [holder, start] of starts) if (out) out = withHolderSince(out, holder, start);
    return out;
  }

  /** Every memo write goes here, so the set of memos with departures stays exact. */
  private setMemo(connection: string, memos: Map<string, Memo>, key: string, memo: Memo | undefined): void {
    if (memo) memos.set(key, memo);
    else memos.delete(key);
    let departing = this.departing.get(connection);
    if (memo?.departed) {
      if (!departing) this.departing.set(connection, (departing = new Set()));
      departing.add(key);
    } else departing?.delete(key);
  }

  /** Sessions and leases that hold or wait on this connection now (computed once per gap). */
  private sessionsOf(connection: string): Set<string> {
    let live = this.liveSessions.get(connection);
    if (!live) {
      live = new Set();
      for (const r of this.source.records(connection) ?? [])
        for (const h of r.holders) {
          const s = h.session?.id ?? h.lease?.id;
          if (s) live.add(s);
        }
      this.liveSessions.set(connection, live);
    }
    return live;
  }

  /** Waiters present now, per lock (all connections, or one), with when each started waiting. */
  currentWaits(connection?: string, key?: string): CurrentWait[] {
    this.reconcileAll();
    const out: CurrentWait[] = [];
    for (const [conn, memos] of this.memos) {
      if (connection !== undefined && conn !== connection) continue;
      for (const [k, memo] of memos) {
        if (key !== undefined && k !== key) continue;
        for (const w of memo.waiters) out.push({ connection: conn, key: k, id: w.id, since: w.since, anonymous: isAnonymous(w.id) });
      }
    }
    return out;
  }

  /** What queries add to the store: waits in progress, and events derived but not written yet. */
  liveView(): LiveView {
    return { now: this.now(), waits: this.currentWaits(), pending: [...this.queue.slice(this.inFlight), ...this.departures()] };
  }

  /**
   * Waiters that left and may still come back (the reorder grace): for queries they have left
   * now — their wait is finished and counted — until they return (then they wait on) or the
   * grace ends (then the same event is written).
   */
  private departures(): LifeEvent[] {
    const now = this.now();
    const out: LifeEvent[] = [];
    for (const [connection, keys] of this.departing) {
      const memos = this.memosOf(connection);
      for (const key of keys) {
        const memo = memos.get(key);
        if (memo?.departed) out.push(...expireDeparted(memo, { connection, key }, now, 0).events);
      }
    }
    return out;
  }

  /** The overview's sparkline points per connection (oldest first, the last hour). */
  trends(): Record<string, TrendPoint[]> {
    return Object.fromEntries(this.trendRing);
  }

  /** One trend point per connection (the timer calls it every TREND_STEP_MS). */
  sampleTrend(): void {
    const t = this.now();
    for (const s of this.source.sample?.() ?? []) {
      const ring = this.trendRing.get(s.connection) ?? [];
      ring.push({ t, contended: s.contended, waiters: s.waiters, locks: s.locks, stale: s.stale });
      if (ring.length > TREND_POINTS) ring.splice(0, ring.length - TREND_POINTS);
      this.trendRing.set(s.connection, ring);
    }
  }

  /**
   * After a restart: the gap since the previous process's last heartbeat is marked, and each
   * holding it had open is, once the connection's first snapshot is in, either still there
   * (its bar continues) or "lost" at the gap's start — never silently skipped.
   */
  private settleRestart(connection: string): void {
    const open = this.openBefore?.get(connection);
    if (!open || this.downSince === null) return;
    this.openBefore!.delete(connection);
    const current = new Map<string, Set<string>>();
    for (const r of this.source.records(connection) ?? []) current.set(r.key, new Set(r.holders.map((h) => h.id)));
    const memos = this.memosOf(connection);
    for (const [key, holdings] of open) {
      for (const h of holdings) {
        if (current.get(key)?.has(h.holder)) {
          // Still held: it started when the previous process saw it start, not at this sighting.
          const memo = memos.get(key);
          if (memo && !this.pending.get(connection)?.records.has(key)) this.setMemo(connection, memos, key, withHolderSince(memo, h.holder, h.start));
          else {
            let byKey = this.carried.get(connection);
            if (!byKey) this.carried.set(connection, (byKey = new Map()));
            const starts = byKey.get(key) ?? new Map<string, number>();
            starts.set(h.holder, h.start);
            byKey.set(key, starts);
          }
          continue;
        }
        this.push({
          at: this.downSince,
          connection,
          key,
          kind: "lost",
          holder: h.holder,
          owner: h.owner,
          holdMs: Math.max(0, this.downSince - h.start),
          waiters: 0,
          resMs: 0,
          cause: "console-down",
        });
      }
    }
  }

  /** Once per process, before its first write: the previous process's heartbeat and open holdings. */
  private async checkRestart(store: HistoryStore): Promise<void> {
    if (this.restartChecked) return;
    const last = await store.lastHeartbeat();
    // Nothing was recorded from the last heartbeat until this process started — or, for a
    // PostgreSQL standby taking over from a writer that died, until now (it dropped what it saw).
    const end = last !== null && last >= this.startedAt ? this.now() : this.startedAt;
    if (last === null || end - last < RESTART_GAP_MS) {
      this.restartChecked = true;
      return;
    }
    this.downSince = last;
    await store.closeOpenGaps(last);
    const events = await store.events({
      from: last - OPEN_LOOKBACK_MS,
      to: last + 1,
      kinds: ["acquired", "seen", "released", "expired", "force-released", "lost"],
    });
    const byLock = new Map<string, typeof events>();
    for (const e of events) {
      const id = `${e.connection}\u0000${e.key}`;
      const list = byLock.get(id);
      if (list) list.push(e);
      else byLock.set(id, [e]);
    }
    this.gapQueue.push({
      id: `console:${last}`,
      connection: null,
      kind: "console-down",
      from: last,
      to: end,
      detail: "LockDeck was not running (or not recording): changes in this gap were not seen",
    });
    this.restartChecked = true;
    this.openBefore = new Map();
    for (const evs of byLock.values()) {
      const open = segments(evs).filter((sg) => sg.end === null);
      if (open.length === 0) continue;
      const { connection, key } = evs[0];
      const m = this.openBefore.get(connection) ?? new Map();
      m.set(
        key,
        open.map((sg) => ({ holder: sg.holder, owner: sg.owner, start: sg.start })),
      );
      this.openBefore.set(connection, m);
    }
    // Connections whose first snapshot came before this check ran.
    for (const [id, r] of this.connections) if (r.primed) this.settleRestart(id);
  }

  /**
   * The hub lost track and sent a resync hint (its first snapshot is one): diff our memos against
   * its current records. The bus delivers the hint inside the hub's refresh, so only the locks
   * that vanished are settled here; the rest is derived in slices of RECONCILE_SLICE locks on
   * later turns of the event loop, each from the record the hub had at the resync and as of
   * then (baseline, gap) — a change to a lock before its turn comes applies that part first.
   */
  private reconcile(connection: string, at: number): void {
    const records = this.source.records(connection);
    if (!records) return;
    this.reconcileAll(); // an earlier resync's rest comes first
    const as = this.asOf(connection, at);
    const byKey = new Map<string, LockRecord>();
    for (const rec of records) byKey.set(rec.key, rec);
    const memos = this.memosOf(connection);
    const first = memos.size === 0;
    for (const key of [...memos.keys()]) if (!byKey.has(key)) this.derivePush(connection, key, null, as);
    this.pending.set(connection, { ...as, records: byKey, inKeyOrder: first, next: 0 });
    this.slicing ??= this.nextSlice(0);
  }

  /** The next reconcileSlice: on the next turn of the event loop, or after `ms`. */
  private nextSlice(ms: number): () => void {
    if (ms === 0) {
      const h = setImmediate(() => this.reconcileSlice());
      return () => clearImmediate(h);
    }
    const t = setTimeout(() => this.reconcileSlice(), ms);
    return () => clearTimeout(t);
  }

  /** Derives up to `budget` locks of the pending resyncs; schedules the rest. */
  private reconcileSlice(budget = RECONCILE_SLICE): void {
    this.slicing = null;
    // A resync's derivation is ours to pace: at 1M locks it outran the writer, filled the queue
    // and lost ~200k "seen" events to the cap (and its one-by-one trim took ~40 s of CPU).
    if (budget !== Infinity) {
      budget = Math.min(budget, Math.floor(this.maxQueue / 2) - this.queue.length);
      if (budget <= 0) {
        // The writer is behind (or the store is away): derive more once it has caught up.
        this.slicing = this.nextSlice(DERIVE_RETRY_MS);
        return;
      }
    }
    for (const [connection, p] of this.pending) {
      if (p.inKeyOrder) {
        const sorted = (p.sorted ??= [...p.records.keys()].sort());
        while (p.next < sorted.length && budget > 0) {
          const key = sorted[p.next++];
          const rec = p.records.get(key);
          if (!rec) continue; // applied already, by a change that came first
          budget--;
          p.records.delete(key);
          this.derivePush(connection, key, rec, p);
        }
      } else {
        for (const [key, rec] of p.records) {
          if (budget-- === 0) break;
          p.records.delete(key);
          this.derivePush(connection, key, rec, p);
        }
      }
      this.rederived.add(connection);
      if (p.records.size === 0) this.pending.delete(connection);
      if (budget <= 0) break;
    }
    if (this.pending.size) this.slicing = this.nextSlice(0);
  }

  /** Every pending resync derived now (before a query answers, a new resync or a stop). */
  private reconcileAll(): void {
    if (this.pending.size === 0) return;
    this.slicing?.();
    const writing = this.error === null;
    if (writing) this.exempt = Infinity;
    try {
      this.reconcileSlice(Infinity);
    } finally {
      if (writing) this.exempt = Math.max(0, this.queue.length - this.maxQueue);
    }
  }

  private push(e: LifeEvent): void {
    this.metrics.observe(e);
    this.queue.push(e);
    // Trimmed a tenth at a time: one splice, not one per event.
    const cap = this.maxQueue + this.exempt;
    if (this.queue.length > cap * 1.1) {
      const over = this.queue.length - cap;
      this.queue.splice(0, over);
      this.dropped += over;
    }
  }

  // ---- to the store ----------------------------------------------------------------------------

  private tryOpen(): void {
    if (this.store || this.now() < this.nextOpenAt) return;
    try {
      const s = this.opts.settings;
      this.store = this.opts.openStore
        ? this.opts.openStore()
        : s.storage === "postgres"
          ? new PostgresHistoryStore(s.postgresUrl!)
          : new SqliteHistoryStore(path.resolve(/*turbopackIgnore: true*/ this.opts.dataDir, "history.sqlite"));
    } catch (err) {
      this.nextOpenAt = this.now() + 5_000;
      this.pause(err);
    }
  }

  private pause(err: unknown): void {
    const message = `history paused: ${err instanceof Error ? err.message : String(err)}`;
    if (this.error === null) console.warn(`lockdeck: ${message}`);
    this.error = message;
    this.pausedSince ??= this.now();
  }

  /** Writes the queue (one transaction). On failure the queue stays for the next tick. */
  async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      await this.sweep();
      // Intents stay in play for a while: the release they announce may be derived after the
      // flush that read them (the store call and the hub's re-read take a few ms more).
      const now = this.now();
      this.intents = [...this.intents.filter((i) => now - i.at < INTENT_TTL_MS), ...this.audit.read()];
      const intents = this.intents;
      if (intents.length && this.queue.length) {
        const { events: marked, used } = markForcedOnce(this.queue, intents);
        marked.forEach((m, i) => m !== this.queue[i] && this.metrics.relabel(this.queue[i], m));
        this.queue = marked;
        this.intents = this.intents.filter((i) => !used.has(i));
      }
      this.tryOpen();
      if (!this.store) return;
      const heartbeatDue = this.now() - this.lastHeartbeat >= HEARTBEAT_MS;
      if (this.queue.length === 0 && this.gapQueue.length === 0 && !heartbeatDue && this.restartChecked) return;
      const store = this.store;
      try {
        const queued = this.queue.length;
        const droppedBefore = this.dropped;
        this.standby = store.leader ? !(await store.leader()) : false;
        if (this.standby) {
          // Drop what was derived before asking (the writer records the same changes); keep what came since.
          this.queue = this.queue.slice(Math.max(0, queued - (this.dropped - droppedBefore)));
          this.gapQueue = [];
          this.error = null;
          this.pausedSince = null;
          return;
        }
        await this.checkRestart(store);
        // What is queued now, in transactions of FLUSH_CHUNK events with the event loop free
        // between them; events derived meanwhile join the queue's tail for the next tick —
        // except while a resync is being derived (a first snapshot: an event per lock), which
        // waits for the writer: then the writer goes on until it is done.
        let due = this.queue.length;
        for (let first = true; first || (this.queue.length > 0 && (due > 0 || this.pending.size > 0)); first = false) {
          if (!first) await new Promise((r) => setImmediate(r));
          due -= await this.writeChunk(store);
        }
        if (this.error !== null) console.warn("lockdeck: history recording resumed");
        this.error = null;
        this.pausedSince = null;
      } catch (err) {
        this.pause(err);
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Writes the queue's head (one transaction, with the gaps and a heartbeat) and says how many
   * events it wrote; on failure it throws and the queue stays as it was.
   */
  private async writeChunk(store: HistoryStore): Promise<number> {
    // A copy: events derived while the write is in flight (PostgreSQL awaits the network) are
    // pushed to this.queue and must stay queued, not be counted as written.
    const batch = this.queue.slice(0, FLUSH_CHUNK);
    const droppedBefore = this.dropped;
    const gaps = this.gapQueue.slice();
    const now = this.now();
    this.inFlight = batch.length;
    try {
      await store.append(batch, { gaps, heartbeat: now });
    } finally {
      this.inFlight = 0;
    }
    this.lastHeartbeat = now;
    this.gapQueue = this.gapQueue.slice(gaps.length);
    // The queue minus the batch (the overflow trim may have dropped some of it meanwhile).
    this.queue = this.queue.slice(Math.max(0, batch.length - (this.dropped - droppedBefore)));
    this.written += batch.length;
    this.exempt = Math.max(0, this.exempt - batch.length);
    return batch.length;
  }

  /**
   * Each tick: renewals do not publish changes, so a held lock's expiry is read again from the
   * hub's record for the keys the hub says were renewed — or, after a full re-read or a
   * resync's derivation, for every memo, SWEEP_SLICE per turn of the event loop (1M locks: a
   * few ms at a time, not one 50 ms block); and waiters that left and did not come back within
   * the grace period are reported now. An idle console does neither walk: nothing to allocate.
   */
  private async sweep(): Promise<void> {
    for (const [connection, memos] of this.memos) {
      const renewed = this.source.renewals?.(connection) ?? "all";
      if (renewed === "all" || this.rederived.has(connection)) {
        this.rederived.delete(connection);
        let visited = 0;
        for (const key of memos.keys()) {
          if (++visited % SWEEP_SLICE === 0) await new Promise((r) => setImmediate(r));
          this.refreshExpiryOf(connection, memos, key);
        }
      } else for (const key of renewed) this.refreshExpiryOf(connection, memos, key);
      this.expireDepartures(connection, memos);
    }
  }

  private refreshExpiryOf(connection: string, memos: Map<string, Memo>, key: string): void {
    const memo = memos.get(key);
    if (!memo || memo.expiresAt === null) return;
    const rec = this.source.get(connection, key);
    if (rec && rec !== memo.expiryBasis) this.setMemo(connection, memos, key, refreshExpiry(memo, rec));
  }

  private expireDepartures(connection: string, memos: Map<string, Memo>): void {
    const keys = this.departing.get(connection);
    if (!keys) return;
    for (const key of keys) {
      const memo = memos.get(key);
      if (!memo?.departed) continue;
      const out = expireDeparted(memo, { connection, key }, this.now());
      for (const e of out.events) this.push(e);
      const empty = out.memo.holders.length === 0 && out.memo.waiters.length === 0 && !out.memo.departed;
      this.setMemo(connection, memos, key, empty && !this.source.get(connection, key) ? undefined : out.memo);
    }
  }

  async compact(): Promise<void> {
    if (!this.store || this.error) return;
    try {
      await this.store.compact(this.now(), this.opts.settings);
    } catch (err) {
      this.pause(err);
    }
  }
}
