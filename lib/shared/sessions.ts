// Sign-in sessions in the shared PostgreSQL, so a session opened on one replica works on all
// of them and a sign-out (or expiry) ends it everywhere at once: every lookup asks PostgreSQL.
// Same records and rules as the file store (lib/auth/session.ts): the token's SHA-256 as key,
// the user, expiry and password-hash fingerprint.
//
// PostgreSQL down: sign-in and sign-out are refused (503 shared_state_unavailable) — a session
// none of the other replicas knows, or a revocation they would not see, would be a lie. A
// session this replica created or checked in the last `graceMs` is still accepted, for viewing only
// (lookup says `degraded`; authorize() refuses every other action), so on-call keeps the live
// view through a database outage.
//
// A record whose user is missing from this replica's config, or whose password changed, is
// refused but left in place: during a rolling change of the config another replica may still
// know the user. Expired records are deleted (at start-up and as they are met).

import { randomBytes } from "node:crypto";
import { digest, fingerprint, MAX_SESSIONS, type SessionRecord, type User } from "../auth/session";
import type { SharedDb } from "./db";

interface Row {
  user_name: string;
  created: string;
  expires: string;
  fp: string;
}

export class SharedSessions {
  /** Tells this store from the file one (lib/auth/guard.ts). */
  readonly shared = true;
  /** digest → (record, when PostgreSQL last vouched for it): for viewing while the database is down. */
  private vouched = new Map<string, { r: SessionRecord; at: number }>();

  constructor(
    private readonly db: SharedDb,
    private readonly graceMs = 15 * 60_000,
  ) {}

  /** Drops expired records (start-up); a failure is only logged: lookups check expiry anyway. */
  async prune(now = Date.now()): Promise<void> {
    await this.db.query("DELETE FROM lockdeck_sessions WHERE expires <= $1", [now]).catch(() => undefined);
  }

  async create(user: User, ttlMs: number, now = Date.now()): Promise<string> {
    const token = randomBytes(32).toString("base64url");
    const r: SessionRecord = { user: user.name, created: now, expires: now + ttlMs, fp: fingerprint(user.passwordHash) };
    await this.db.query("INSERT INTO lockdeck_sessions (digest, user_name, created, expires, fp) VALUES ($1, $2, $3, $4, $5)", [
      digest(token),
      r.user,
      r.created,
      r.expires,
      r.fp,
    ]);
    // Written to PostgreSQL just now: as good as checked. Without this a session made just before
    // an outage was unknown to the fallback below and answered 401 "sign in first" (not 503).
    this.vouch(digest(token), r, now);
    return token;
  }

  async lookup<U extends User>(token: string | undefined, users: U[], now = Date.now()): Promise<{ user: U; degraded: string | null } | null> {
    if (!token || token.length > 100) return null;
    const key = digest(token);
    let r: SessionRecord | null;
    let degraded: string | null = null;
    try {
      const { rows } = await this.db.query<Row>("SELECT user_name, created, expires, fp FROM lockdeck_sessions WHERE digest = $1", [key]);
      r = rows[0] ? { user: rows[0].user_name, created: Number(rows[0].created), expires: Number(rows[0].expires), fp: rows[0].fp } : null;
      if (r) this.vouch(key, r, now);
      else this.vouched.delete(key);
    } catch (err) {
      const seen = this.vouched.get(key);
      if (!seen || now - seen.at > this.graceMs) return null;
      r = seen.r;
      degraded = (err as Error).message;
    }
    if (!r) return null;
    const user = users.find((u) => u.name === r.user);
    if (r.expires <= now) {
      this.vouched.delete(key);
      if (!degraded) await this.db.query("DELETE FROM lockdeck_sessions WHERE digest = $1", [key]).catch(() => undefined);
      return null;
    }
    if (!user || fingerprint(user.passwordHash) !== r.fp) return null;
    return { user, degraded };
  }

  /**
   * Ends a session everywhere, or nowhere: the local vouch goes only once PostgreSQL has deleted
   * the record. A DELETE that fails (503) leaves the session valid on every replica, this one
   * included; forgetting it here first signed the cookie out on this replica only, and it came
   * back when the database did.
   */
  async revoke(token: string | undefined): Promise<SessionRecord | null> {
    if (!token || token.length > 100) return null;
    const key = digest(token);
    const { rows } = await this.db.query<Row>("DELETE FROM lockdeck_sessions WHERE digest = $1 RETURNING user_name, created, expires, fp", [key]);
    this.vouched.delete(key);
    return rows[0] ? { user: rows[0].user_name, created: Number(rows[0].created), expires: Number(rows[0].expires), fp: rows[0].fp } : null;
  }

  private vouch(key: string, r: SessionRecord, now: number): void {
    this.vouched.delete(key);
    this.vouched.set(key, { r, at: now });
    // Oldest first out: a Map iterates in insertion order, and vouch() re-inserts.
    if (this.vouched.size > MAX_SESSIONS) this.vouched.delete(this.vouched.keys().next().value!);
  }
}
