// One reading replica per connection, so the load on a store does not grow with the number of
// replicas. Per connection, the replica holding a PostgreSQL advisory lock (taken on one
// dedicated session per process) reads the store as a single replica would, and publishes what
// its hub sees: the current records and status (lockdeck_feed_records/_status) and an ordered
// log of changed lock keys (lockdeck_feed_changes), with a NOTIFY after each commit. The other
// replicas follow that feed instead of the store (lib/shared/replicated.ts).
//
// Contracts:
// - election: every ELECT_MS each replica tries the locks of the connections it does not lead;
//   a dead leader's session closes, its locks free, and another replica leads within about
//   ELECT_MS (kill -9 included: the kernel closes the socket). Each term has an epoch
//   (lockdeck_feed_leaders); a publish commits only if its epoch is still the current one, so a
//   replica that lost its session without noticing cannot overwrite its successor;
// - publishing: changes go out at once, one statement per batch (what arrives while one is written is the next batch), serialized
//   per connection (so the change log's order is the commit order); a takeover first writes
//   the whole state from the new leader's own first snapshot; until then it writes only its
//   heartbeat and, once a read has failed, its status (unreachable). A published status carries
//   its term: followers trust the records only under a status of the current term;
// - PostgreSQL unreachable: every replica reads its stores itself ("solo", as without
//   PostgreSQL) until the database is back, then the election runs again: the live view never
//   depends on the database.

import "server-only";
import pg from "pg";
import { hostname } from "node:os";
import type { LockRecord, Problem } from "../model";
import type { EventBus } from "../hub/bus";
import type { SharedDb } from "./db";

export type Role = "solo" | "leader" | "follower";

export const ELECT_MS = 2_000;
/** 0: a batch goes at once; what arrives while one is being written makes the next batch. */
const FLUSH_MS = 0;
const HEARTBEAT_MS = 2_000;
/**
 * A leader silent for this long (by PostgreSQL's clock) is shown as gone: followers mark the view
 * unreachable. One of them takes over only when its session ends (a frozen process keeps it).
 */
export const SILENT_MS = 10_000;
const KEEP_CHANGES_MS = 10 * 60_000;
const LOCK_CLASS = 0x10c4; // advisory lock class: "lockdeck feed"; the object is hashtext(connection)
/**
 * PostgreSQL's clock in ms. Heartbeats and published statuses are dated by it, and followers
 * compare them with it: one clock, so a replica whose clock is off neither looks alive when
 * frozen nor makes a healthy reader look silent.
 */
const DB_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/** Where a leader stands with its own reads of the store in this term. */
export type FirstRead = "read" | "failed" | "pending";

/** What a reading replica's hub offers the publisher. */
export interface FeedSource {
  all(): Iterable<LockRecord>;
  get(key: string): LockRecord | undefined;
  status(): object;
  problems(): Problem[];
}

interface Member {
  id: string;
  role: Role;
  /** The first election result was announced (even when it is "solo", the starting role). */
  known: boolean;
  epoch: number | null;
  onRole(role: Role, epoch: number | null): void;
}

export function replicaName(): string {
  return process.env.LOCKDECK_REPLICA_NAME || `${hostname()}:${process.env.PORT ?? ""}#${process.pid}`;
}

/** The process's one dedicated PostgreSQL session: advisory locks (leadership) and LISTEN. */
export class FeedSession {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly members = new Map<string, Member>();
  private readonly wakers = new Map<string, Set<() => void>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private ticking = false;
  /** Bumped whenever the session is (re)made: followers resync after a gap in LISTEN. */
  generation = 0;

  constructor(
    readonly db: SharedDb,
    readonly replica = replicaName(),
  ) {}

  join(id: string, onRole: Member["onRole"]): void {
    this.members.set(id, { id, role: "solo", known: false, epoch: null, onRole });
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), ELECT_MS);
      this.timer.unref?.();
    }
    void this.tick();
  }

  async leave(id: string): Promise<void> {
    const m = this.members.get(id);
    this.members.delete(id);
    if (m?.role === "leader" && this.client) await this.client.query("SELECT pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, id]).catch(() => undefined);
  }

  /** Called on NOTIFY for this connection (followers wait on it between polls). */
  onChange(id: string, wake: () => void): () => void {
    let set = this.wakers.get(id);
    if (!set) this.wakers.set(id, (set = new Set()));
    set.add(wake);
    return () => set.delete(wake);
  }

  /** A leader found its epoch superseded: it is a follower now (the next tick may elect it again). */
  demote(id: string): void {
    const m = this.members.get(id);
    if (m && m.role === "leader") {
      void this.client?.query("SELECT pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, id]).catch(() => undefined);
      this.set(m, "follower", null);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private set(m: Member, role: Role, epoch: number | null): void {
    if (m.known && m.role === role && m.epoch === epoch) return;
    m.known = true;
    m.role = role;
    m.epoch = epoch;
    m.onRole(role, epoch);
  }

  private async session(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      await this.db.migrate();
      const c = new pg.Client({
        connectionString: this.db.opts.url,
        connectionTimeoutMillis: this.db.opts.statementTimeoutMs,
        application_name: `lockdeck feed ${this.replica}`.slice(0, 63),
      });
      c.on("error", () => undefined);
      c.on("end", () => {
        if (this.client === c) this.client = null;
      });
      c.on("notification", (n) => {
        for (const wake of this.wakers.get(n.payload ?? "") ?? []) wake();
      });
      await c.connect();
      // A network partition must not keep a dead leader's locks for the OS default (hours).
      await c.query("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3").catch(() => undefined);
      await c.query("LISTEN lockdeck_feed");
      this.client = c;
      this.generation++;
      return c;
    })().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.members.size === 0) return;
    this.ticking = true;
    try {
      let c: pg.Client;
      try {
        c = await this.session();
        // Leaders check their session is alive (their locks live with it).
        await c.query("SELECT 1");
      } catch {
        // No database: every connection is read here, as without PostgreSQL.
        const c = this.client;
        this.client = null;
        await c?.end().catch(() => undefined);
        for (const m of this.members.values()) this.set(m, "solo", null);
        return;
      }
      for (const m of [...this.members.values()]) {
        if (m.role === "leader") continue;
        try {
          const { rows } = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [LOCK_CLASS, m.id]);
          if (!rows[0]?.ok) {
            this.set(m, "follower", null);
            continue;
          }
          const now = Date.now();
          const term = await c.query<{ epoch: string }>(
            `INSERT INTO lockdeck_feed_leaders (connection, epoch, replica, since, heartbeat) VALUES ($1, 1, $2, $3, ${DB_MS})
             ON CONFLICT (connection) DO UPDATE SET epoch = lockdeck_feed_leaders.epoch + 1, replica = EXCLUDED.replica, since = EXCLUDED.since, heartbeat = EXCLUDED.heartbeat
             RETURNING epoch`,
            [m.id, this.replica, now],
          );
          if (!this.members.has(m.id)) {
            await c.query("SELECT pg_advisory_unlock($1, hashtext($2))", [LOCK_CLASS, m.id]);
            continue;
          }
          this.set(m, "leader", Number(term.rows[0].epoch));
        } catch {
          // The next tick tries again.
        }
      }
    } finally {
      this.ticking = false;
    }
  }
}

/** The leader's side: what its hub publishes on the bus goes to PostgreSQL, batched. */
export class FeedPublisher {
  private dirty = new Set<string>();
  private full = true;
  private statusDirty = true;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private heartbeat: ReturnType<typeof setInterval>;
  private flushing: Promise<void> | null = null;
  private lastPrune = 0;
  private stopped = false;
  private readonly unsubscribe: () => void;

  /** firstRead(): whether the hub holds a snapshot read from the store in this term (the first full write waits for it). */
  constructor(
    private readonly db: SharedDb,
    private readonly id: string,
    private readonly epoch: number,
    bus: EventBus,
    private readonly source: FeedSource,
    private readonly firstRead: () => FirstRead,
    private readonly onLost: () => void,
  ) {
    this.unsubscribe = bus.subscribe((e) => {
      if (e.connection !== id) return;
      if (e.type === "upsert") this.dirty.add(e.data.lock.key);
      else if (e.type === "remove") this.dirty.add(e.data.key);
      else if (e.type === "resync") this.full = true;
      else this.statusDirty = true;
      this.schedule();
    });
    this.heartbeat = setInterval(() => {
      this.statusDirty = true;
      this.schedule();
    }, HEARTBEAT_MS);
    this.heartbeat.unref?.();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    clearInterval(this.heartbeat);
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, FLUSH_MS);
  }

  /** One batch, one transaction; a failure keeps the batch for the next try. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.schedule();
      return this.flushing;
    }
    this.flushing = this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.stopped) return;
    if (this.full) {
      const read = this.firstRead();
      if (read !== "read") return this.beforeFirstRead(read);
    }
    const full = this.full;
    const keys = full ? [] : [...this.dirty];
    const withStatus = this.statusDirty;
    if (!full && keys.length === 0 && !withStatus) return;
    this.full = false;
    this.dirty = new Set();
    this.statusDirty = false;
    const now = Date.now();
    try {
      const current = full ? await this.writeAll(now) : await this.writeChanges(keys, withStatus ? this.source.status() : null, now);
      if (!current) return this.lost();
      this.prune(now);
    } catch {
      // PostgreSQL down: keep what was not written (the election turns this replica solo if it lasts).
      if (full) this.full = true;
      for (const k of keys) this.dirty.add(k);
      if (withStatus) this.statusDirty = true;
      return this.retryLater();
    }
  }

  /**
   * Before this term's first read of the store its records cannot go out (the table still holds
   * the previous term's), but followers must learn that this reader is alive — the heartbeat, so
   * a slow first read is not taken for a dead reader — and, once a read has failed, why: a
   * status of this term that says unreachable, so they show the outage, not "being elected".
   */
  private async beforeFirstRead(read: Exclude<FirstRead, "read">): Promise<void> {
    if (this.statusDirty) {
      this.statusDirty = false;
      // A failed first read is unreachable whatever else the hub's line says (a slow answer since).
      const status = read === "failed" ? { ...this.source.status(), status: "unreachable" } : null;
      try {
        if (!(await this.writeChanges([], status, Date.now()))) return this.lost();
      } catch {
        this.statusDirty = true;
      }
    }
    this.retryLater();
  }

  /** Superseded: another replica leads now. */
  private lost(): void {
    this.stop();
    this.onLost();
  }

  /** A new term, or a resync: the whole state, in one transaction. */
  private writeAll(now: number): Promise<boolean> {
    return this.db.transaction(async (c) => {
      const term = await c.query(`UPDATE lockdeck_feed_leaders SET heartbeat = ${DB_MS} WHERE connection = $1 AND epoch = $2`, [this.id, this.epoch]);
      if (term.rowCount !== 1) return false;
      await c.query("DELETE FROM lockdeck_feed_records WHERE connection = $1", [this.id]);
      await upsert(c, this.id, [...this.source.all()]);
      await c.query("INSERT INTO lockdeck_feed_changes (connection, keys, resync, at) VALUES ($1, '{}', true, $2)", [this.id, now]);
      await c.query(STATUS_UPSERT, [this.id, JSON.stringify(this.source.status()), JSON.stringify(this.source.problems())]);
      await c.query("SELECT pg_notify('lockdeck_feed', $1)", [this.id]);
      return true;
    });
  }

  /**
   * A batch of changed keys (and the status, unless null): one statement, so one round trip —
   * the epoch check guards every part of it, and the NOTIFY goes out when it commits.
   */
  private async writeChanges(keys: string[], status: object | null, now: number): Promise<boolean> {
    const present = keys.map((k) => this.source.get(k)).filter((r): r is LockRecord => !!r);
    const gone = keys.filter((k) => !this.source.get(k));
    const { rows } = await this.db.query<{ lead: string }>(
      `WITH lead AS (UPDATE lockdeck_feed_leaders SET heartbeat = ${DB_MS} WHERE connection = $1 AND epoch = $2 RETURNING 1),
       up AS (INSERT INTO lockdeck_feed_records (connection, key, record)
              SELECT $1, k, r FROM unnest($4::text[], $5::jsonb[]) AS t(k, r) WHERE EXISTS (SELECT 1 FROM lead)
              ON CONFLICT (connection, key) DO UPDATE SET record = EXCLUDED.record RETURNING 1),
       del AS (DELETE FROM lockdeck_feed_records WHERE connection = $1 AND key = ANY($6::text[]) AND EXISTS (SELECT 1 FROM lead) RETURNING 1),
       ch AS (INSERT INTO lockdeck_feed_changes (connection, keys, resync, at)
              SELECT $1, $7::text[], false, $3 WHERE EXISTS (SELECT 1 FROM lead) AND cardinality($7::text[]) > 0 RETURNING 1),
       st AS (INSERT INTO lockdeck_feed_status (connection, status, problems, at)
              SELECT $1, $8::jsonb, $9::jsonb, ${DB_MS} WHERE EXISTS (SELECT 1 FROM lead) AND $8::jsonb IS NOT NULL
              ON CONFLICT (connection) DO UPDATE SET status = EXCLUDED.status, problems = EXCLUDED.problems, at = EXCLUDED.at RETURNING 1)
       SELECT (SELECT count(*) FROM lead) AS lead, (SELECT pg_notify('lockdeck_feed', $1) FROM lead) AS notified`,
      [
        this.id,
        this.epoch,
        now,
        present.map((r) => r.key),
        present.map((r) => JSON.stringify(r)),
        gone,
        keys,
        status ? JSON.stringify(status) : null,
        status ? JSON.stringify(this.source.problems()) : null,
      ],
    );
    return Number(rows[0]?.lead) === 1;
  }

  private retryLater(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, 250);
  }

  private prune(now: number): void {
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    void this.db.query("DELETE FROM lockdeck_feed_changes WHERE connection = $1 AND at < $2", [this.id, now - KEEP_CHANGES_MS]).catch(() => undefined);
  }
}

/** The status row's epoch is stamped by its trigger (migration 4): the term of the leader row, which the writer's transaction has just checked is its own. */
const STATUS_UPSERT = `INSERT INTO lockdeck_feed_status (connection, status, problems, at) VALUES ($1, $2, $3, ${DB_MS})
  ON CONFLICT (connection) DO UPDATE SET status = EXCLUDED.status, problems = EXCLUDED.problems, at = EXCLUDED.at`;

async function upsert(c: pg.PoolClient, connection: string, records: LockRecord[]): Promise<void> {
  for (let i = 0; i < records.length; i += 1_000) {
    const batch = records.slice(i, i + 1_000);
    await c.query(
      `INSERT INTO lockdeck_feed_records (connection, key, record) SELECT $1, k, r FROM unnest($2::text[], $3::jsonb[]) AS t(k, r)
       ON CONFLICT (connection, key) DO UPDATE SET record = EXCLUDED.record`,
      [connection, batch.map((r) => r.key), batch.map((r) => JSON.stringify(r))],
    );
  }
}

/** The current term's reader, and what it has published in this term. */
export interface LeaderStatus {
  replica: string;
  /** Its last write (PostgreSQL's clock, ms). */
  heartbeat: number;
  /** PostgreSQL's clock when this was read (ms): ages are `dbNow − heartbeat`, `dbNow − published.at`. */
  dbNow: number;
  /** This replica's clock just before it asked (ms): `asked − age` dates an age on this replica's clock, never later than it was. */
  asked: number;
  /** Its status and problems as of `at`; null until its first write of this term (a status of an earlier term vouches for nothing). */
  published: {
    /** The reader's status event; `confirmedAgeMs` is its view's age when it wrote it. */
    status: {
      status: string;
      message: string;
      mode: string;
      pollIntervalMs?: number;
      observedAt: string | null;
      consistency: string;
      server?: string;
      confirmedAgeMs?: number | null;
    };
    problems: Problem[];
    /** When it was written (PostgreSQL's clock, ms). */
    at: number;
  } | null;
}

/** The connection's leader row with its status of the same term, as one JSON value (null: never elected). */
const LEADER_JSON = `(SELECT json_build_object('replica', l.replica, 'heartbeat', l.heartbeat, 'dbNow', ${DB_MS},
    'published', CASE WHEN s.epoch = l.epoch THEN json_build_object('status', s.status, 'problems', s.problems, 'at', s.at) END)
  FROM lockdeck_feed_leaders l LEFT JOIN lockdeck_feed_status s USING (connection) WHERE l.connection = $1)`;

function leaderFrom(json: Omit<LeaderStatus, "asked"> | null, asked: number): LeaderStatus | null {
  if (!json) return null;
  const p = json.published;
  return { replica: json.replica, heartbeat: Number(json.heartbeat), dbNow: Number(json.dbNow), asked, published: p ? { ...p, at: Number(p.at) } : null };
}

/** What a follower reads: the leader's published state and changes. */
export class FeedReader {
  constructor(
    private readonly db: SharedDb,
    private readonly id: string,
  ) {}

  async status(): Promise<LeaderStatus | null> {
    const asked = Date.now();
    const { rows } = await this.db.query<{ leader: LeaderStatus | null }>(`SELECT ${LEADER_JSON} AS leader`, [this.id]);
    return leaderFrom(rows[0]?.leader ?? null, asked);
  }

  /** Every record and the last change's seq, as of one instant. */
  async state(): Promise<{ records: LockRecord[]; seq: number }> {
    return this.db.transaction(async (c) => {
      await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const seq = await c.query<{ s: string | null }>("SELECT max(seq) AS s FROM lockdeck_feed_changes WHERE connection = $1", [this.id]);
      const recs = await c.query<{ record: LockRecord }>("SELECT record FROM lockdeck_feed_records WHERE connection = $1", [this.id]);
      return { records: recs.rows.map((r) => r.record), seq: Number(seq.rows[0]?.s ?? 0) };
    });
  }

  /**
   * One round trip per wake-up: the changes after `after`, the current records of the keys they
   * name, and the leader's status.
   */
  async poll(after: number): Promise<{ changes: Array<{ seq: number; keys: string[]; resync: boolean }>; records: LockRecord[]; leader: LeaderStatus | null }> {
    const asked = Date.now();
    const { rows } = await this.db.query<{
      changes: Array<{ seq: number; keys: string[]; resync: boolean }>;
      records: LockRecord[];
      leader: LeaderStatus | null;
    }>(
      `WITH ch AS (SELECT seq, keys, resync FROM lockdeck_feed_changes WHERE connection = $1 AND seq > $2 ORDER BY seq LIMIT 1000)
       SELECT (SELECT coalesce(json_agg(json_build_object('seq', seq, 'keys', keys, 'resync', resync) ORDER BY seq), '[]') FROM ch) AS changes,
              (SELECT coalesce(json_agg(r.record), '[]') FROM lockdeck_feed_records r
                WHERE r.connection = $1 AND r.key IN (SELECT unnest(keys) FROM ch WHERE NOT resync)) AS records,
              ${LEADER_JSON} AS leader`,
      [this.id, after],
    );
    const r = rows[0];
    return { changes: r.changes.map((c) => ({ ...c, seq: Number(c.seq) })), records: r.records, leader: leaderFrom(r.leader, asked) };
  }

  async records(keys: string[]): Promise<LockRecord[]> {
    const { rows } = await this.db.query<{ record: LockRecord }>("SELECT record FROM lockdeck_feed_records WHERE connection = $1 AND key = ANY($2)", [
      this.id,
      keys,
    ]);
    return rows.map((r) => r.record);
  }
}
