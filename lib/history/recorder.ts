// The recorder: subscribes to the hub's event bus (every connection, one bus), derives lock
// life events (derive.ts), keeps per-connection resolution (live, or polling every N ms) and
// writes batches to the history store once a second.
//
// Faults: the store may be missing, unwritable or full. Then the recorder is "paused": the
// live console is untouched (the bus listener only queues), the queue keeps up to MAX_QUEUE
// events (oldest dropped, counted), and every tick tries again — reopening the store if it
// never opened — so recording resumes by itself. Nothing already written is touched.
//
// Replicas: SQLite is one file per replica, so each replica records its own history. With
// PostgreSQL, one replica writes (advisory lock, lib/history/postgres.ts); the others are on
// standby: they drop what they derived (the writer records the same changes) and answer queries.

import path from "node:path";
import type { EventBus, SequencedEvent } from "../hub/bus";
import type { LockRecord } from "../model";
import { AuditTail, markForced } from "./audit-tail";
import { derive, refreshExpiry, type Memo } from "./derive";
import { MetricsState } from "./metrics-state";
import { PostgresHistoryStore } from "./postgres";
import { SqliteHistoryStore, type HistoryStore } from "./sqlite";
import type { HistorySettings, LifeEvent } from "./types";

export const MAX_QUEUE = 200_000;

export interface RecorderSource {
  /** The current records of a connection (for resync and expiry refresh); undefined if unknown. */
  records(connection: string): Iterable<LockRecord> | undefined;
  get(connection: string, key: string): LockRecord | undefined;
}

export interface RecorderOptions {
  dataDir: string;
  settings: HistorySettings;
  /** Override the store (tests, PostgreSQL later). Called again after a failed open. */
  openStore?: () => HistoryStore;
  flushEveryMs?: number;
  compactEveryMs?: number;
  now?: () => number;
}

export interface ConnectionResolution {
  mode: "live" | "polling";
  /** 0 when live; else the polling interval. */
  resMs: number;
  /** The first full snapshot has arrived: changes from here on are real acquisitions. */
  primed: boolean;
  status: string;
}

export class Recorder {
  readonly metrics = new MetricsState();
  readonly connections = new Map<string, ConnectionResolution>();
  private memos = new Map<string, Map<string, Memo>>();
  private queue: LifeEvent[] = [];
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

  constructor(
    private readonly bus: EventBus,
    private readonly source: RecorderSource,
    private readonly opts: RecorderOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.audit = new AuditTail(path.resolve(/*turbopackIgnore: true*/ opts.dataDir, "audit.jsonl"));
    this.audit.read();
  }

  get settings(): HistorySettings {
    return this.opts.settings;
  }

  start(): this {
    this.unsubscribe = this.bus.subscribe((e) => this.onEvent(e));
    this.tryOpen();
    const flush = setInterval(() => void this.flush(), this.opts.flushEveryMs ?? 1_000);
    const compact = setInterval(() => void this.compact(), this.opts.compactEveryMs ?? 10 * 60_000);
    flush.unref?.();
    compact.unref?.();
    this.timers.push(flush, compact);
    return this;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
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
        const d = e.data as SequencedEvent["data"] & { mode: string; status: string; observedAt: string | null; pollIntervalMs?: number };
        const mode = d.mode === "live" ? "live" : "polling";
        if (d.status === "unreachable" && conn.status !== "unreachable") this.metrics.readError(e.connection);
        conn.status = d.status;
        conn.mode = mode;
        conn.resMs = mode === "live" ? 0 : (d.pollIntervalMs ?? 5_000);
        if (d.observedAt !== null) conn.primed = true;
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
      r = { mode: "live", resMs: 0, primed: false, status: "unreachable" };
      this.connections.set(connection, r);
    }
    return r;
  }

  private memosOf(connection: string): Map<string, Memo> {
    let m = this.memos.get(connection);
    if (!m) this.memos.set(connection, (m = new Map()));
    return m;
  }

  private apply(connection: string, key: string, rec: LockRecord | null, at: number): void {
    const conn = this.resolution(connection);
    const memos = this.memosOf(connection);
    const { memo, events } = derive(memos.get(key), rec, { connection, key, at, resMs: conn.resMs, baseline: !conn.primed });
    if (memo) memos.set(key, memo);
    else memos.delete(key);
    for (const ev of events) this.push(ev);
  }

  /** The hub lost track and sent a resync hint: diff our memos against its current records. */
  private reconcile(connection: string, at: number): void {
    const records = this.source.records(connection);
    if (!records) return;
    const seen = new Set<string>();
    for (const rec of records) {
      seen.add(rec.key);
      this.apply(connection, rec.key, rec, at);
    }
    for (const key of [...this.memosOf(connection).keys()]) if (!seen.has(key)) this.apply(connection, key, null, at);
  }

  private push(e: LifeEvent): void {
    this.metrics.observe(e);
    this.queue.push(e);
    if (this.queue.length > MAX_QUEUE) {
      const over = this.queue.length - MAX_QUEUE;
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
      this.refreshExpiries();
      const intents = this.audit.read();
      if (intents.length) {
        const marked = markForced(this.queue, intents);
        marked.forEach((m, i) => m !== this.queue[i] && this.metrics.relabel(this.queue[i], m));
        this.queue = marked;
      }
      this.tryOpen();
      if (!this.store || this.queue.length === 0) return;
      // A copy: events derived while the write is in flight (PostgreSQL awaits the network) are
      // pushed to this.queue and must stay queued for the next tick, not be counted as written.
      const batch = this.queue.slice();
      const droppedBefore = this.dropped;
      /** The queue minus the batch (the overflow trim may have dropped some of it meanwhile). */
      const rest = () => this.queue.slice(Math.max(0, batch.length - (this.dropped - droppedBefore)));
      try {
        this.standby = this.store.leader ? !(await this.store.leader()) : false;
        if (this.standby) {
          this.queue = rest();
          this.error = null;
          this.pausedSince = null;
          return;
        }
        await this.store.append(batch);
        this.queue = rest();
        this.written += batch.length;
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

  /** Renewals do not publish changes: read current expiries from the hub for held locks. */
  private refreshExpiries(): void {
    for (const [connection, memos] of this.memos) {
      for (const [key, memo] of memos) {
        if (memo.expiresAt === null) continue;
        const rec = this.source.get(connection, key);
        if (rec) memos.set(key, refreshExpiry(memo, rec));
      }
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
