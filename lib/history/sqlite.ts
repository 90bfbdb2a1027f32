// Embedded history store: one SQLite file, <dataDir>/history.sqlite, via better-sqlite3.
// Why better-sqlite3: Node 20 has no node:sqlite; better-sqlite3 builds from source here
// (prebuilt download fails offline, node-gyp falls back with the system headers) and gives a
// synchronous, transactional API with WAL, so a batch of events is one fsync'd transaction.
// sql.js would keep the whole DB in memory and rewrite the file to persist it.
//
// Contract (HistoryStore): append() is all-or-nothing per batch; compact() folds raw events
// older than the raw retention into minute roll-ups in the same transaction that deletes
// them, so nothing recorded is lost between the two tables.

import "server-only";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { HistorySettings, LifeEvent, Rollup } from "./types";
import type { HistoryGap } from "../api/types";
import { mergeRollup, rollup } from "./stats";

/** Written with a batch, in the same transaction. */
export interface BatchMeta {
  /** Gaps to insert or update (by id): outages as they open and close, console-down gaps. */
  gaps?: HistoryGap[];
  /** The recorder was alive and had flushed everything up to this moment (ms). */
  heartbeat?: number;
}

/** Events of one lock (or all locks when key is omitted) in [from, to), oldest first unless newestFirst. */
export interface EventsQuery {
  connection?: string;
  key?: string;
  from: number;
  to: number;
  kinds?: LifeEvent["kind"][];
  limit?: number;
  newestFirst?: boolean;
}

export interface HistoryStore {
  readonly kind: string;
  /** All or nothing: the events, the gaps and the heartbeat in one transaction. */
  append(events: LifeEvent[], meta?: BatchMeta): Promise<void>;
  /** Gaps overlapping [from, to) on this connection, plus console-down gaps (connection null). */
  gaps(q: { connection?: string; from: number; to: number }): Promise<HistoryGap[]>;
  /** The last heartbeat written (ms), null on a new store. */
  lastHeartbeat(): Promise<number | null>;
  /** Closes gaps left open by a previous process (it died during an outage) at `at`. */
  closeOpenGaps(at: number): Promise<number>;
  /** Events of one lock (or all locks when key is omitted) in [from, to), oldest first (or newest first). */
  events(q: EventsQuery): Promise<LifeEvent[]>;
  rollups(q: { connection?: string; key?: string; from: number; to: number }): Promise<Rollup[]>;
  compact(now: number, settings: Pick<HistorySettings, "rawRetentionMs" | "rollupRetentionMs">): Promise<{ rolled: number; dropped: number }>;
  close(): Promise<void>;
  /** Several replicas on one store: true when this one should write. Absent = always. */
  leader?(): Promise<boolean>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  at INTEGER NOT NULL, connection TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
  holder TEXT, owner TEXT, hold_ms INTEGER, wait_ms INTEGER, waiters INTEGER NOT NULL, res_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS events_lock ON events (connection, key, at);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS rollups (
  connection TEXT NOT NULL, key TEXT NOT NULL, minute INTEGER NOT NULL,
  acquisitions INTEGER NOT NULL, handovers INTEGER NOT NULL, force_releases INTEGER NOT NULL,
  expiries INTEGER NOT NULL, max_waiters INTEGER NOT NULL, hold_count INTEGER NOT NULL,
  hold_sum INTEGER NOT NULL, wait_count INTEGER NOT NULL, wait_sum INTEGER NOT NULL,
  hold_hist TEXT NOT NULL, wait_hist TEXT NOT NULL, PRIMARY KEY (connection, key, minute));
CREATE INDEX IF NOT EXISTS rollups_minute ON rollups (minute);
CREATE TABLE IF NOT EXISTS gaps (
  id TEXT PRIMARY KEY, connection TEXT, kind TEXT NOT NULL, from_ms INTEGER NOT NULL, to_ms INTEGER, detail TEXT);
CREATE INDEX IF NOT EXISTS gaps_from ON gaps (from_ms);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
`;

interface GapRow {
  id: string;
  connection: string | null;
  kind: string;
  from_ms: number;
  to_ms: number | null;
  detail: string | null;
}

export const toGap = (r: GapRow): HistoryGap => ({
  id: r.id,
  connection: r.connection,
  kind: r.kind as HistoryGap["kind"],
  from: Number(r.from_ms),
  to: r.to_ms === null ? null : Number(r.to_ms),
  ...(r.detail !== null && { detail: r.detail }),
});

interface EventRow {
  at: number;
  connection: string;
  key: string;
  kind: string;
  holder: string | null;
  owner: string | null;
  hold_ms: number | null;
  wait_ms: number | null;
  waiters: number;
  res_ms: number;
  cause: string | null;
}

const toEvent = (r: EventRow): LifeEvent => ({
  at: r.at,
  connection: r.connection,
  key: r.key,
  kind: r.kind as LifeEvent["kind"],
  waiters: r.waiters,
  resMs: r.res_ms,
  ...(r.holder !== null && { holder: r.holder }),
  ...(r.owner !== null && { owner: r.owner }),
  ...(r.hold_ms !== null && { holdMs: r.hold_ms }),
  ...(r.wait_ms !== null && { waitMs: r.wait_ms }),
  ...(r.cause !== null && r.cause !== undefined && { cause: r.cause }),
});

interface RollupRow {
  connection: string;
  key: string;
  minute: number;
  acquisitions: number;
  handovers: number;
  force_releases: number;
  expiries: number;
  max_waiters: number;
  hold_count: number;
  hold_sum: number;
  wait_count: number;
  wait_sum: number;
  hold_hist: string;
  wait_hist: string;
}

const toRollup = (r: RollupRow): Rollup => ({
  connection: r.connection,
  key: r.key,
  minute: r.minute,
  acquisitions: r.acquisitions,
  handovers: r.handovers,
  forceReleases: r.force_releases,
  expiries: r.expiries,
  maxWaiters: r.max_waiters,
  holdCount: r.hold_count,
  holdSumMs: r.hold_sum,
  waitCount: r.wait_count,
  waitSumMs: r.wait_sum,
  holdHist: JSON.parse(r.hold_hist) as number[],
  waitHist: JSON.parse(r.wait_hist) as number[],
});

/** Narrows a query to its connection and key when given: conditions for WHERE, values for their "?". */
function narrow(q: { connection?: string; key?: string }, where: string[], args: unknown[]): void {
  if (q.connection !== undefined) {
    where.push("connection = ?");
    args.push(q.connection);
  }
  if (q.key !== undefined) {
    where.push("key = ?");
    args.push(q.key);
  }
}

export class SqliteHistoryStore implements HistoryStore {
  readonly kind = "sqlite";
  private db: Database.Database;
  private insert: Database.Statement;

  /** Throws when the file cannot be opened or created (the recorder retries later). */
  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 2000");
    this.db.exec(SCHEMA);
    // Files from before "cause" existed get the column (nullable, nothing rewritten).
    const cols = this.db.prepare("PRAGMA table_info(events)").all() as { name: string }[];
    if (!cols.some((c) => c.name === "cause")) this.db.exec("ALTER TABLE events ADD COLUMN cause TEXT");
    this.insert = this.db.prepare(
      "INSERT INTO events (at, connection, key, kind, holder, owner, hold_ms, wait_ms, waiters, res_ms, cause) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    );
    this.putGap = this.db.prepare(
      "INSERT INTO gaps (id, connection, kind, from_ms, to_ms, detail) VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET to_ms = excluded.to_ms, detail = excluded.detail",
    );
    this.putMeta = this.db.prepare("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  }

  private putGap: Database.Statement;
  private putMeta: Database.Statement;

  async append(events: LifeEvent[], meta: BatchMeta = {}): Promise<void> {
    const run = this.db.transaction((batch: LifeEvent[]) => {
      for (const e of batch) {
        this.insert.run(
          Math.round(e.at),
          e.connection,
          e.key,
          e.kind,
          e.holder ?? null,
          e.owner ?? null,
          e.holdMs ?? null,
          e.waitMs ?? null,
          e.waiters,
          e.resMs,
          e.cause ?? null,
        );
      }
      for (const g of meta.gaps ?? [])
        this.putGap.run(g.id, g.connection, g.kind, Math.round(g.from), g.to === null ? null : Math.round(g.to), g.detail ?? null);
      if (meta.heartbeat !== undefined) this.putMeta.run("heartbeat", Math.round(meta.heartbeat));
    });
    run(events);
  }

  async gaps(q: { connection?: string; from: number; to: number }): Promise<HistoryGap[]> {
    const conn = q.connection === undefined ? "" : " AND (connection IS NULL OR connection = ?)";
    const args: unknown[] = [q.to, q.from];
    if (q.connection !== undefined) args.push(q.connection);
    const rows = this.db.prepare(`SELECT * FROM gaps WHERE from_ms < ? AND (to_ms IS NULL OR to_ms > ?)${conn} ORDER BY from_ms`).all(...args) as GapRow[];
    return rows.map(toGap);
  }

  async lastHeartbeat(): Promise<number | null> {
    const row = this.db.prepare("SELECT value FROM meta WHERE name = 'heartbeat'").get() as { value: number } | undefined;
    return row ? Number(row.value) : null;
  }

  async closeOpenGaps(at: number): Promise<number> {
    return this.db.prepare("UPDATE gaps SET to_ms = MAX(from_ms, ?) WHERE to_ms IS NULL").run(Math.round(at)).changes;
  }

  async events(q: EventsQuery): Promise<LifeEvent[]> {
    const where = ["at >= ?", "at < ?"];
    const args: unknown[] = [q.from, q.to];
    narrow(q, where, args);
    if (q.kinds?.length) {
      where.push(`kind IN (${q.kinds.map(() => "?").join(",")})`);
      args.push(...q.kinds);
    }
    const limit = q.limit ? ` LIMIT ${Math.floor(q.limit)}` : "";
    const rows = this.db
      .prepare(`SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY at${q.newestFirst ? " DESC" : ""}${limit}`)
      .all(...args) as EventRow[];
    return rows.map(toEvent);
  }

  async rollups(q: { connection?: string; key?: string; from: number; to: number }): Promise<Rollup[]> {
    const where = ["minute >= ?", "minute < ?"];
    const args: unknown[] = [Math.floor(q.from / 60_000) * 60_000, q.to];
    narrow(q, where, args);
    return (this.db.prepare(`SELECT * FROM rollups WHERE ${where.join(" AND ")} ORDER BY minute`).all(...args) as RollupRow[]).map(toRollup);
  }

  async compact(now: number, s: Pick<HistorySettings, "rawRetentionMs" | "rollupRetentionMs">): Promise<{ rolled: number; dropped: number }> {
    // Only whole minutes are rolled, so a minute is never split between the two tables.
    const cutoff = Math.floor((now - s.rawRetentionMs) / 60_000) * 60_000;
    const get = this.db.prepare("SELECT * FROM rollups WHERE connection = ? AND key = ? AND minute = ?");
    const put = this.db.prepare(
      "INSERT OR REPLACE INTO rollups VALUES (@connection,@key,@minute,@acquisitions,@handovers,@forceReleases,@expiries,@maxWaiters,@holdCount,@holdSumMs,@waitCount,@waitSumMs,@holdHist,@waitHist)",
    );
    const tx = this.db.transaction(() => {
      const old = (this.db.prepare("SELECT * FROM events WHERE at < ?").all(cutoff) as EventRow[]).map(toEvent);
      for (const r of rollup(old)) {
        const prev = get.get(r.connection, r.key, r.minute) as RollupRow | undefined;
        const m = prev ? mergeRollup(toRollup(prev), r) : r;
        put.run({ ...m, holdHist: JSON.stringify(m.holdHist), waitHist: JSON.stringify(m.waitHist) });
      }
      this.db.prepare("DELETE FROM events WHERE at < ?").run(cutoff);
      const dropped = this.db.prepare("DELETE FROM rollups WHERE minute < ?").run(now - s.rollupRetentionMs).changes;
      this.db.prepare("DELETE FROM gaps WHERE to_ms IS NOT NULL AND to_ms < ?").run(now - s.rollupRetentionMs);
      return { rolled: old.length, dropped };
    });
    return tx();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
