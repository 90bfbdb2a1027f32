// The shared schema, in order. A migration is never edited once released: add the next one.
// Run by SharedDb.migrate() at start-up under an advisory lock, each in its own transaction.
// (History keeps its own tables, created by lib/history/postgres.ts.)

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "sessions, rate limits, approvals, used confirmation ids",
    sql: `
      -- Sign-in sessions by the SHA-256 of the cookie's token (the token itself is never stored).
      CREATE TABLE lockdeck_sessions (
        digest TEXT PRIMARY KEY, user_name TEXT NOT NULL, created BIGINT NOT NULL,
        expires BIGINT NOT NULL, fp TEXT NOT NULL);
      CREATE INDEX lockdeck_sessions_expires ON lockdeck_sessions (expires);
      -- Fixed-window counters (sign-in per address and name, per name, releases per actor).
      CREATE TABLE lockdeck_rate_limits (
        key TEXT PRIMARY KEY, window_start BIGINT NOT NULL, count INTEGER NOT NULL);
      -- Releases waiting for a second operator (two-person rule); a row is taken once.
      CREATE TABLE lockdeck_approvals (
        id UUID PRIMARY KEY, connection TEXT NOT NULL, request JSONB NOT NULL,
        requester JSONB NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
      -- Confirmation ids of release requests: each can be used once, on any replica.
      CREATE TABLE lockdeck_request_ids (id TEXT PRIMARY KEY, used_at BIGINT NOT NULL);
    `,
  },
  {
    version: 2,
    name: "change feed: one reading replica per connection",
    sql: `
      -- Who reads each connection's store (the holder of its advisory lock) and in which term:
      -- a publish commits only while its epoch is the current one.
      CREATE TABLE lockdeck_feed_leaders (
        connection TEXT PRIMARY KEY, epoch BIGINT NOT NULL, replica TEXT NOT NULL,
        since BIGINT NOT NULL, heartbeat BIGINT NOT NULL);
      -- The reading replica's current records and status, for followers to start from.
      CREATE TABLE lockdeck_feed_records (
        connection TEXT NOT NULL, key TEXT NOT NULL, record JSONB NOT NULL, PRIMARY KEY (connection, key));
      CREATE TABLE lockdeck_feed_status (
        connection TEXT PRIMARY KEY, status JSONB NOT NULL, problems JSONB NOT NULL, at BIGINT NOT NULL);
      -- What changed, in order (followers catch up from their last seq; kept 10 minutes).
      CREATE TABLE lockdeck_feed_changes (
        seq BIGSERIAL PRIMARY KEY, connection TEXT NOT NULL, keys TEXT[] NOT NULL,
        resync BOOLEAN NOT NULL, at BIGINT NOT NULL);
      CREATE INDEX lockdeck_feed_changes_conn ON lockdeck_feed_changes (connection, seq);
    `,
  },
  {
    version: 3,
    name: "audit trails of all replicas, append-only",
    sql: `
      -- Each replica's audit.jsonl lines as written (the hash covers the text), by trail (its
      -- first entry's id) and line number; filter columns beside them.
      CREATE TABLE lockdeck_audit (
        trail TEXT NOT NULL, line INTEGER NOT NULL, id UUID NOT NULL UNIQUE, at TIMESTAMPTZ NOT NULL,
        connection TEXT, key TEXT, request_id TEXT, text TEXT NOT NULL, PRIMARY KEY (trail, line));
      CREATE INDEX lockdeck_audit_at ON lockdeck_audit (at);
      CREATE INDEX lockdeck_audit_lock ON lockdeck_audit (connection, key);
      CREATE FUNCTION lockdeck_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $f$ BEGIN RAISE EXCEPTION 'lockdeck_audit is append-only'; END $f$;
      CREATE TRIGGER lockdeck_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON lockdeck_audit
        FOR EACH STATEMENT EXECUTE FUNCTION lockdeck_audit_append_only();
    `,
  },
  {
    version: 4,
    name: "change feed: the term a published status belongs to",
    sql: `
      -- A status vouches for the published records only in the term that wrote it: after an
      -- election (or a restart on a kept database) followers wait for the new reader's own.
      ALTER TABLE lockdeck_feed_status ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
      -- Every write stamps the writer's term, read from the leader row: a publish commits only
      -- in its own term (it checks the epoch in the same transaction), so that is the writer's,
      -- whether it names the column or not (a replica of the previous version, mid-upgrade).
      CREATE FUNCTION lockdeck_feed_status_term() RETURNS trigger LANGUAGE plpgsql AS
        $f$ BEGIN
          SELECT l.epoch INTO NEW.epoch FROM lockdeck_feed_leaders l WHERE l.connection = NEW.connection;
          NEW.epoch := coalesce(NEW.epoch, 0);
          RETURN NEW;
        END $f$;
      CREATE TRIGGER lockdeck_feed_status_term BEFORE INSERT OR UPDATE ON lockdeck_feed_status
        FOR EACH ROW EXECUTE FUNCTION lockdeck_feed_status_term();
    `,
  },
];
