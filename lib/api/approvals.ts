// The two-person rule: on connections that require it, a release is held as a pending request
// until a second operator (not the requester) approves it within the window. A request is
// queued only once its pending_approval intent is on disk (its id is made first and named in
// that line), so one refused for want of an audit trail cannot be approved. The approved
// release then runs exactly as requested: same fence, so a lock that changed meanwhile is
// still refused; as the requester with the role the config gives them at approval time (a
// requester since demoted below operator, or removed, is refused and the request dropped).
// Pending requests live in memory (one replica; a restart drops them — each was audited); with
// PostgreSQL they are shared by every replica (lib/shared/approvals.ts).

import { randomUUID } from "node:crypto";
import type { Actor } from "../auth/guard";
import type { ReleaseRequest } from "./release";

export interface PendingRelease {
  id: string;
  connection: string;
  request: ReleaseRequest & { requestId: string };
  requester: Actor;
  createdAt: number;
  expiresAt: number;
}

export class Approvals {
  private pending = new Map<string, PendingRelease>();

  /** `id`: made by the caller when its pending_approval intent must be on disk before the request is queued (lib/api/release.ts). */
  add(connection: string, request: ReleaseRequest & { requestId: string }, requester: Actor, windowMs: number, id: string = randomUUID()): PendingRelease {
    const now = Date.now();
    const p = { id, connection, request, requester, createdAt: now, expiresAt: now + windowMs };
    this.pending.set(p.id, p);
    return p;
  }

  get(id: string): PendingRelease | null {
    return this.pending.get(id) ?? null;
  }

  /** Removes it and answers it (null when already taken): an approval is used once. */
  take(id: string): PendingRelease | null {
    const p = this.pending.get(id) ?? null;
    this.pending.delete(id);
    return p;
  }

  /** Requests still inside their window. */
  list(now = Date.now()): PendingRelease[] {
    return [...this.pending.values()].filter((p) => p.expiresAt > now);
  }
}
