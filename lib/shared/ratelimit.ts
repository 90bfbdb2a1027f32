// Rate-limit counters in the shared PostgreSQL: the same fixed windows as lib/auth/ratelimit.ts,
// counted once for all replicas (wrong sign-ins spread over replicas hit one limit). Windows
// are timed by the database's clock, so replicas whose clocks differ still agree. A counter is
// one row, updated in one statement (no read-then-write race between replicas).

import type { SharedDb } from "./db";

export class SharedRateLimiter {
  private lastPrune = 0;

  /** name: which limiter (keys of different limiters never meet). */
  constructor(
    private readonly db: SharedDb,
    private readonly name: string,
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one attempt; false when the key is over its limit. Throws SharedStateUnavailable when PostgreSQL is down. */
  async take(key: string): Promise<boolean> {
    const { rows } = await this.db.query<{ count: number }>(
      `WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms)
       INSERT INTO lockdeck_rate_limits AS r (key, window_start, count) SELECT $1, ms, 1 FROM now
       ON CONFLICT (key) DO UPDATE SET
         window_start = CASE WHEN r.window_start <= (SELECT ms FROM now) - $2 THEN (SELECT ms FROM now) ELSE r.window_start END,
         count = CASE WHEN r.window_start <= (SELECT ms FROM now) - $2 THEN 1 ELSE r.count + 1 END
       RETURNING count`,
      [`${this.name}|${key}`, this.windowMs],
    );
    this.prune();
    return rows[0].count <= this.max;
  }

  /** Now and then, rows of windows long past go (they would restart at 1 anyway). */
  private prune(): void {
    const now = Date.now();
    if (now - this.lastPrune < 10 * 60_000) return;
    this.lastPrune = now;
    void this.db
      .query("DELETE FROM lockdeck_rate_limits WHERE key LIKE $1 AND window_start < (extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2", [
        `${this.name}|%`,
        this.windowMs * 2,
      ])
      .catch(() => undefined);
  }
}

/** Confirmation ids of release requests, each usable once on any replica. */
export class SharedRequestIds {
  constructor(private readonly db: SharedDb) {}

  /** True the first time an id is used; false after (on this or any replica). */
  async use(id: string): Promise<boolean> {
    const { rowCount } = await this.db.query("INSERT INTO lockdeck_request_ids (id, used_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", [id, Date.now()]);
    return rowCount === 1;
  }
}
