// The one PostgreSQL that replicas share (config `postgres.url` or LOCKDECK_POSTGRES_URL; the
// history's `postgresUrl` names the same database). It holds what must be the same on every
// replica: sign-in sessions, rate-limit counters, pending two-person approvals and used
// confirmation ids (lib/shared/*.ts), and history (lib/history/postgres.ts).
//
// Contracts:
// - one bounded pool per process (`postgres.poolMax`); every query has a deadline
//   (`statementTimeoutMs`, also the connect timeout), so a dead server costs a request at most
//   that long, never a hung handler;
// - the schema is brought up to date at start-up under an advisory lock (migrate()), so
//   replicas starting together do not race; a migration runs in its own transaction and is
//   recorded in lockdeck_schema;
// - a failure becomes SharedStateUnavailable (HTTP 503, code shared_state_unavailable) naming
//   PostgreSQL: admin actions that need shared state are refused with that message, the live
//   view does not depend on it, and the next query simply tries again (the pool reconnects),
//   so everything resumes by itself.

import "server-only";
import pg from "pg";
import { HttpError } from "../api/errors";
import { MIGRATIONS } from "./migrations";

const MIGRATION_LOCK = 0x10c4_de00; // advisory lock key: "lockdeck schema migration"

export interface SharedDbOptions {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
}

/** PostgreSQL cannot be reached (or failed): the admin action is refused, nothing was done. */
export class SharedStateUnavailable extends HttpError {
  constructor(cause: unknown) {
    super(
      503,
      "shared_state_unavailable",
      `shared state (PostgreSQL) is unavailable: ${causeText(cause)}. Admin actions are refused until it is back; the live view carries on, and nothing needs restarting`,
    );
  }
}

function causeText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = (e?.message ?? String(err)).replace(/postgres(ql)?:\/\/[^\s]*/gi, "postgres://…");
  return e?.code && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
}

export class SharedDb {
  readonly pool: pg.Pool;
  private migrated: Promise<void> | null = null;
  /** The last failure (null after a success), for /api/ready and the logs. */
  private failure: { at: number; message: string } | null = null;
  /** A query once succeeded since start-up (readiness: a bad URL never becomes ready). */
  private everReached = false;

  constructor(readonly opts: SharedDbOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolMax,
      connectionTimeoutMillis: opts.statementTimeoutMs,
      statement_timeout: opts.statementTimeoutMs,
      query_timeout: opts.statementTimeoutMs + 1_000,
      idleTimeoutMillis: 30_000,
      application_name: "lockdeck",
    });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    this.pool.on("error", () => undefined);
  }

  /** Brings the schema up to date (once per process; retried after a failure). */
  migrate(): Promise<void> {
    this.migrated ??= this.runMigrations().catch((err) => {
      this.migrated = null;
      throw err;
    });
    return this.migrated;
  }

  private async runMigrations(): Promise<void> {
    const c = await this.pool.connect();
    try {
      // Session-level advisory lock: one replica migrates, the others wait, then see it done.
      await c.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
      try {
        await c.query(
          "CREATE TABLE IF NOT EXISTS lockdeck_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        );
        const { rows } = await c.query<{ v: number | null }>("SELECT max(version) AS v FROM lockdeck_schema");
        const at = rows[0]?.v ?? 0;
        for (const m of MIGRATIONS.filter((x) => x.version > at)) {
          await c.query("BEGIN");
          try {
            await c.query(m.sql);
            await c.query("INSERT INTO lockdeck_schema (version, name) VALUES ($1, $2)", [m.version, m.name]);
            await c.query("COMMIT");
          } catch (err) {
            await c.query("ROLLBACK").catch(() => undefined);
            throw new Error(`schema migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
          }
        }
      } finally {
        await c.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
      }
    } finally {
      c.release();
    }
  }

  /** One statement, after the schema is ready; any failure is SharedStateUnavailable. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      await this.migrate();
      const res = await this.pool.query<R>(sql, args);
      this.reached();
      return res;
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** Several statements in one transaction; any failure rolls back and is SharedStateUnavailable. */
  async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      await this.migrate();
      c = await this.pool.connect();
    } catch (err) {
      throw this.failed(err);
    }
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      this.reached();
      return out;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      if (err instanceof HttpError) throw err;
      throw this.failed(err);
    } finally {
      c.release();
    }
  }

  /** For /api/ready: a round trip (and the schema), or the reason it fails. */
  async check(): Promise<{ ok: boolean; everReached: boolean; message: string | null }> {
    try {
      await this.query("SELECT 1");
      return { ok: true, everReached: true, message: null };
    } catch (err) {
      return { ok: false, everReached: this.everReached, message: (err as Error).message };
    }
  }

  /** Null while PostgreSQL answers; else when and why it last failed. */
  unavailable(): { at: number; message: string } | null {
    return this.failure;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private reached(): void {
    if (this.failure) console.warn("lockdeck: shared state (PostgreSQL) is reachable again");
    this.failure = null;
    this.everReached = true;
  }

  private failed(err: unknown): SharedStateUnavailable {
    if (err instanceof SharedStateUnavailable) return err;
    const e = new SharedStateUnavailable(err);
    if (!this.failure) console.warn(`lockdeck: ${e.message}`);
    this.failure = { at: Date.now(), message: causeText(err) };
    return e;
  }
}
