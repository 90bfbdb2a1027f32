// Server-side sessions for users signed in with a password. The cookie holds a random 256-bit
// token and nothing else; the server keeps a record per token (by its SHA-256, so the file
// cannot be replayed) with the user, the expiry and a fingerprint of the user's password hash.
// A session ends when it expires, on sign-out, when its user is removed from the config, or
// when the user's password hash changes. Records are kept in <dataDir>/sessions.json (0600),
// so a restart does not sign everyone out. With PostgreSQL (several replicas) they live there
// instead: lib/shared/sessions.ts.
// Cookie: HttpOnly, SameSite=Strict (a cross-site request never carries it), Secure on https.

import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

export const SESSION_COOKIE = "lockdeck_session";

export interface SessionRecord {
  user: string;
  created: number;
  expires: number;
  /** Fingerprint of the user's passwordHash when signing in: a new password ends the session. */
  fp: string;
}

export interface User {
  name: string;
  passwordHash: string;
}

export const MAX_SESSIONS = 10_000;

export function digest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

export function fingerprint(passwordHash: string): string {
  return createHash("sha256").update(passwordHash).digest("base64url").slice(0, 16);
}

export class Sessions {
  private readonly records = new Map<string, SessionRecord>();

  /** file: where records are kept (null: memory only). */
  constructor(
    private readonly file: string | null,
    users: User[],
  ) {
    if (file) this.load(file);
    this.prune(users, Date.now());
  }

  create(user: User, ttlMs: number, now = Date.now()): string {
    if (this.records.size >= MAX_SESSIONS) this.prune(null, now);
    // Still full of live sessions: the oldest goes.
    if (this.records.size >= MAX_SESSIONS) this.records.delete(this.records.keys().next().value!);
    const token = randomBytes(32).toString("base64url");
    this.records.set(digest(token), { user: user.name, created: now, expires: now + ttlMs, fp: fingerprint(user.passwordHash) });
    this.save();
    return token;
  }

  /** The user of a live session whose user still exists with the same password; else null (and the record goes). */
  lookup<U extends User>(token: string | undefined, users: U[], now = Date.now()): U | null {
    if (!token || token.length > 100) return null;
    const key = digest(token);
    const r = this.records.get(key);
    if (!r) return null;
    const user = users.find((u) => u.name === r.user);
    if (r.expires <= now || !user || fingerprint(user.passwordHash) !== r.fp) {
      this.records.delete(key);
      this.save();
      return null;
    }
    return user;
  }

  /** Ends one session; the record it was, or null when there was none. */
  revoke(token: string | undefined): SessionRecord | null {
    if (!token) return null;
    const key = digest(token);
    const r = this.records.get(key) ?? null;
    if (r) {
      this.records.delete(key);
      this.save();
    }
    return r;
  }

  get size(): number {
    return this.records.size;
  }

  /** Drops expired sessions, and (users given) those of users no longer in the config or with a new password. */
  private prune(users: User[] | null, now: number): void {
    let changed = false;
    for (const [k, r] of this.records) {
      const user = users?.find((u) => u.name === r.user);
      if (r.expires <= now || (users && (!user || fingerprint(user.passwordHash) !== r.fp))) {
        this.records.delete(k);
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private load(file: string): void {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(/*turbopackIgnore: true*/ file, "utf8"));
    } catch {
      return; // none yet, or unreadable: everyone signs in again
    }
    if (!data || typeof data !== "object") return;
    for (const [k, r] of Object.entries(data as Record<string, SessionRecord>)) {
      if (r && typeof r.user === "string" && typeof r.expires === "number" && typeof r.fp === "string") this.records.set(k, r);
    }
  }

  private save(): void {
    if (!this.file) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(/*turbopackIgnore: true*/ tmp, JSON.stringify(Object.fromEntries(this.records)), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}
