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
];
