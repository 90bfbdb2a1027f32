// Pending two-person approvals in the shared PostgreSQL: a release requested on one replica is
// listed and approved on any other. take() deletes the row and returns it in one statement, so
// two operators approving at once on two replicas cannot both run it.

import type { Actor } from "../auth/guard";
import type { PendingRelease } from "../api/approvals";
import type { SharedDb } from "./db";
import { randomUUID } from "node:crypto";

interface Row {
  id: string;
  connection: string;
  request: PendingRelease["request"];
  requester: Actor;
  created_at: string;
  expires_at: string;
}

const toPending = (r: Row): PendingRelease => ({
  id: r.id,
  connection: r.connection,
  request: r.request,
  requester: r.requester,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
});

export class SharedApprovals {
  constructor(private readonly db: SharedDb) {}

  /** `id`: made by the caller, whose pending_approval intent is on disk before the row is committed (lib/api/release.ts). */
  async add(connection: string, request: PendingRelease["request"], requester: Actor, windowMs: number, id: string = randomUUID()): Promise<PendingRelease> {
    const now = Date.now();
    const p: PendingRelease = { id, connection, request, requester, createdAt: now, expiresAt: now + windowMs };
    await this.db.query("INSERT INTO lockdeck_approvals (id, connection, request, requester, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)", [
      p.id,
      connection,
      JSON.stringify(request),
      JSON.stringify(requester),
      p.createdAt,
      p.expiresAt,
    ]);
    // Requests past their window are of no use to anyone (each was audited when made).
    void this.db.query("DELETE FROM lockdeck_approvals WHERE expires_at < $1", [now - 24 * 3_600_000]).catch(() => undefined);
    return p;
  }

  async get(id: string): Promise<PendingRelease | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.query<Row>("SELECT * FROM lockdeck_approvals WHERE id = $1", [id]);
    return rows[0] ? toPending(rows[0]) : null;
  }

  /** Removes it and answers it, or null when another approval took it first: an approval is used once. */
  async take(id: string): Promise<PendingRelease | null> {
    if (!isUuid(id)) return null;
    const { rows } = await this.db.query<Row>("DELETE FROM lockdeck_approvals WHERE id = $1 RETURNING *", [id]);
    return rows[0] ? toPending(rows[0]) : null;
  }

  async list(now = Date.now()): Promise<PendingRelease[]> {
    const { rows } = await this.db.query<Row>("SELECT * FROM lockdeck_approvals WHERE expires_at > $1 ORDER BY created_at", [now]);
    return rows.map(toPending);
  }
}

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
