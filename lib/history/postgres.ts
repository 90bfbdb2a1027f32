// PostgreSQL history store, for LockDeck running as several replicas against one database.
//
// One replica records at a time: the writer holds a session-level advisory lock
// (pg_try_advisory_lock) on a dedicated connection. Only the holder appends and compacts;
// the others answer queries from the same tables and stand by. If the writer dies, its
// connection closes, the lock frees, and the next replica to tick (≤ 1 s) takes over; events
// seen only during that gap are not recorded (standbys do not buffer). Chosen over idempotent
// writes because replicas see the same change at slightly different instants, so "the same
// event" has no stable identity to deduplicate on.
//
// Faults: every method (re)connects lazily; a down server makes append() throw, which pauses
// the recorder, and the next tick reconnects.

import "server-only";
import pg from "pg";
import { toGap, type BatchMeta, type EventsQuery, type HistoryStore } from "./sqlite";
import type { HistoryGap } from "../api/types";
import { mergeRollup, rollup } from "./stats";
import type { HistorySettings, LifeEvent, Rollup } from "./types";

const LOCK_ID = 0x10c4_dec4; // advisory lock key: "lockdeck history writer"

const SCHEMA = `
CREATE TABLE IF NOT EXISTS lockdeck_events (
  at BIGINT NOT NULL, connection TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
  holder TEXT, owner TEXT, hold_ms BIGINT, wait_ms BIGINT, waiters INTEGER NOT NULL, res_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS lockdeck_events_lock ON lockdeck_events (connection, key, at);
CREATE INDEX IF NOT EXISTS lockdeck_events_at ON lockdeck_events (at);
CREATE TABLE IF NOT EXISTS lockdeck_rollups (
  connection TEXT NOT NULL, key TEXT NOT NULL, minute BIGINT NOT NULL,
  acquisitions INTEGER NOT NULL, handovers INTEGER NOT NULL, force_releases INTEGER NOT NULL,
  expiries INTEGER NOT NULL, max_waiters INTEGER NOT NULL, hold_count INTEGER NOT NULL,
  hold_sum BIGINT NOT NULL, wait_count INTEGER NOT NULL, wait_sum BIGINT NOT NULL,
  hold_hist TEXT NOT NULL, wait_hist TEXT NOT NULL, PRIMARY KEY (connection, key, minute));
ALTER TABLE lockdeck_events ADD COLUMN IF NOT EXISTS cause TEXT;
CREATE TABLE IF NOT EXISTS lockdeck_gaps (
  id TEXT PRIMARY KEY, connection TEXT, kind TEXT NOT NULL, from_ms BIGINT NOT NULL, to_ms BIGINT, detail TEXT);
CREATE TABLE IF NOT EXISTS lockdeck_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
`;

const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));

function toEvent(r: Record<string, unknown>): LifeEvent {
  const e: LifeEvent = {
    at: Number(r.at),
    connection: String(r.connection),
    key: String(r.key),
    kind: r.kind as LifeEvent["kind"],
    waiters: Number(r.waiters),
    resMs: Number(r.res_ms),
  };
  if (r.holder !== null) e.holder = String(r.holder);
  if (r.owner !== null) e.owner = String(r.owner);
  if (r.hold_ms !== null) e.holdMs = num(r.hold_ms);
  if (r.wait_ms !== null) e.waitMs = num(r.wait_ms);
  if (r.cause !== null && r.cause !== undefined) e.cause = String(r.cause);
  return e;
}

function toRollup(r: Record<string, unknown>): Rollup {
  return {
    connection: String(r.connection),
    key: String(r.key),
    minute: Number(r.minute),
    acquisitions: Number(r.acquisitions),
    handovers: Number(r.handovers),
    forceReleases: Number(r.force_releases),
    expiries: Number(r.expiries),
    maxWaiters: Number(r.max_waiters),
    holdCount: Number(r.hold_count),
    holdSumMs: Number(r.hold_sum),
    waitCount: Number(r.wait_count),
    waitSumMs: Number(r.wait_sum),
    holdHist: JSON.parse(String(r.hold_hist)) as number[],
    waitHist: JSON.parse(String(r.wait_hist)) as number[],
  };
}

export class PostgresHistoryStore implements HistoryStore {
  readonly kind = "postgres";
  private pool: pg.Pool;
  private schema: Promise<void> | null = null;
  /** The dedicated session holding the writer lock (null = not the writer). */
  private writer: pg.PoolClient | null = null;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 3_000 });
    // An idle client's error (server restart) must not crash the process; the next call reconnects.
    this.pool.on("error", () => undefined);
  }

  private ready(): Promise<void> {
    this.schema ??= this.pool.query(SCHEMA).then(
      () => undefined,
      (err) => {
        this.schema = null;
        throw err;
      },
    );
    return this.schema;
  }

  /** True when this replica is the writer (takes the advisory lock if it is free). */
  async leader(): Promise<boolean> {
    await this.ready();
    if (this.writer) {
      try {
        await this.writer.query("SELECT 1");
        return true;
      } catch {
        this.writer.release(true);
        this.writer = null;
      }
    }
    const client = await this.pool.connect();
    client.on("error", () => undefined);
    const { rows } = await client.query("SELECT pg_try_advisory_lock($1) AS ok", [LOCK_ID]);
    if (rows[0]?.ok) {
      this.writer = client;
      return true;
    }
    client.release();
    return false;
  }

  async append(events: LifeEvent[], meta: BatchMeta = {}): Promise<void> {
    await this.ready();
    const c = this.writer ?? (await this.pool.connect());
    try {
      await c.query("BEGIN");
      for (let i = 0; i < events.length; i += 1_000) {
        const b = events.slice(i, i + 1_000);
        await c.query(
          `INSERT INTO lockdeck_events (at, connection, key, kind, holder, owner, hold_ms, wait_ms, waiters, res_ms, cause)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::int[], $10::int[], $11::text[])`,
          [
            b.map((e) => Math.round(e.at)),
            b.map((e) => e.connection),
            b.map((e) => e.key),
            b.map((e) => e.kind),
            b.map((e) => e.holder ?? null),
            b.map((e) => e.owner ?? null),
            b.map((e) => e.holdMs ?? null),
            b.map((e) => e.waitMs ?? null),
            b.map((e) => e.waiters),
            b.map((e) => e.resMs),
            b.map((e) => e.cause ?? null),
          ],
        );
      }
      for (const g of meta.gaps ?? []) {
        await c.query(
          `INSERT INTO lockdeck_gaps (id, connection, kind, from_ms, to_ms, detail) VALUES ($1,$2,$3,$4,$5,$6)
           ON CONFLICT (id) DO UPDATE SET to_ms = EXCLUDED.to_ms, detail = EXCLUDED.detail`,
          [g.id, g.connection, g.kind, Math.round(g.from), g.to === null ? null : Math.round(g.to), g.detail ?? null],
        );
      }
      if (meta.heartbeat !== undefined) {
        await c.query("INSERT INTO lockdeck_meta (name, value) VALUES ('heartbeat', $1) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", [
          Math.round(meta.heartbeat),
        ]);
      }
      await c.query("COMMIT");
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      if (c !== this.writer) c.release();
    }
  }

  async events(q: EventsQuery): Promise<LifeEvent[]> {
    await this.ready();
    const where = ["at >= $1", "at < $2"];
    const args: unknown[] = [q.from, q.to];
    // args.push returns the new length: the number of the parameter just added.
    if (q.connection !== undefined) where.push(`connection = $${args.push(q.connection)}`);
    if (q.key !== undefined) where.push(`key = $${args.push(q.key)}`);
    if (q.kinds?.length) where.push(`kind = ANY($${args.push(q.kinds)})`);
    const limit = q.limit ? ` LIMIT ${Math.floor(q.limit)}` : "";
    const { rows } = await this.pool.query(
      `SELECT * FROM lockdeck_events WHERE ${where.join(" AND ")} ORDER BY at${q.newestFirst ? " DESC" : ""}${limit}`,
      args,
    );
    return rows.map(toEvent);
  }

  async gaps(q: { connection?: string; from: number; to: number }): Promise<HistoryGap[]> {
    await this.ready();
    const args: unknown[] = [q.to, q.from];
    let conn = "";
    if (q.connection !== undefined) conn = ` AND (connection IS NULL OR connection = $${args.push(q.connection)})`;
    const { rows } = await this.pool.query(`SELECT * FROM lockdeck_gaps WHERE from_ms < $1 AND (to_ms IS NULL OR to_ms > $2)${conn} ORDER BY from_ms`, args);
    return rows.map((r) => toGap(r as Parameters<typeof toGap>[0]));
  }

  async lastHeartbeat(): Promise<number | null> {
    await this.ready();
    const { rows } = await this.pool.query("SELECT value FROM lockdeck_meta WHERE name = 'heartbeat'");
    return rows[0] ? Number(rows[0].value) : null;
  }

  async closeOpenGaps(at: number): Promise<number> {
    await this.ready();
    const r = await this.pool.query("UPDATE lockdeck_gaps SET to_ms = GREATEST(from_ms, $1) WHERE to_ms IS NULL", [Math.round(at)]);
    return r.rowCount ?? 0;
  }

  async rollups(q: { connection?: string; key?: string; from: number; to: number }): Promise<Rollup[]> {
    await this.ready();
    const where = ["minute >= $1", "minute < $2"];
    const args: unknown[] = [Math.floor(q.from / 60_000) * 60_000, q.to];
    if (q.connection !== undefined) where.push(`connection = $${args.push(q.connection)}`);
    if (q.key !== undefined) where.push(`key = $${args.push(q.key)}`);
    const { rows } = await this.pool.query(`SELECT * FROM lockdeck_rollups WHERE ${where.join(" AND ")} ORDER BY minute`, args);
    return rows.map(toRollup);
  }

  async compact(now: number, s: Pick<HistorySettings, "rawRetentionMs" | "rollupRetentionMs">): Promise<{ rolled: number; dropped: number }> {
    await this.ready();
    if (!(await this.leader())) return { rolled: 0, dropped: 0 };
    const cutoff = Math.floor((now - s.rawRetentionMs) / 60_000) * 60_000;
    const c = this.writer!;
    try {
      await c.query("BEGIN");
      const old = (await c.query("SELECT * FROM lockdeck_events WHERE at < $1", [cutoff])).rows.map(toEvent);
      for (const r of rollup(old)) {
        const prev = (await c.query("SELECT * FROM lockdeck_rollups WHERE connection = $1 AND key = $2 AND minute = $3", [r.connection, r.key, r.minute]))
          .rows[0];
        const m = prev ? mergeRollup(toRollup(prev), r) : r;
        await c.query(
          `INSERT INTO lockdeck_rollups VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
           ON CONFLICT (connection, key, minute) DO UPDATE SET acquisitions = EXCLUDED.acquisitions, handovers = EXCLUDED.handovers,
           force_releases = EXCLUDED.force_releases, expiries = EXCLUDED.expiries, max_waiters = EXCLUDED.max_waiters,
           hold_count = EXCLUDED.hold_count, hold_sum = EXCLUDED.hold_sum, wait_count = EXCLUDED.wait_count,
           wait_sum = EXCLUDED.wait_sum, hold_hist = EXCLUDED.hold_hist, wait_hist = EXCLUDED.wait_hist`,
          [
            m.connection,
            m.key,
            m.minute,
            m.acquisitions,
            m.handovers,
            m.forceReleases,
            m.expiries,
            m.maxWaiters,
            m.holdCount,
            m.holdSumMs,
            m.waitCount,
            m.waitSumMs,
            JSON.stringify(m.holdHist),
            JSON.stringify(m.waitHist),
          ],
        );
      }
      await c.query("DELETE FROM lockdeck_events WHERE at < $1", [cutoff]);
      const dropped = (await c.query("DELETE FROM lockdeck_rollups WHERE minute < $1", [now - s.rollupRetentionMs])).rowCount ?? 0;
      await c.query("DELETE FROM lockdeck_gaps WHERE to_ms IS NOT NULL AND to_ms < $1", [now - s.rollupRetentionMs]);
      await c.query("COMMIT");
      return { rolled: old.length, dropped };
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    // Unlock explicitly: a pooled session's lock would otherwise outlive close() until the
    // server notices the disconnect.
    await this.writer?.query("SELECT pg_advisory_unlock($1)", [LOCK_ID]).catch(() => undefined);
    this.writer?.release(true);
    this.writer = null;
    await this.pool.end().catch(() => undefined);
  }
}
