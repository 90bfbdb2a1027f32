// One release per exact holding at a time. Twenty operators (or one double-click, or a
// retried POST with a fresh id) confirming the release of the same fence at once get exactly
// one attempt at the store; the others are answered 409 without anything being sent, naming
// the request that holds the claim. A claim ends with its attempt, except:
//   applied → kept for a while: that holding is gone, a later attempt is a duplicate;
//   unknown → kept until the reconciler settles it: an outcome nobody saw is never retried
//             blindly, not even by a second operator.

import type { FenceHolding } from "../fence";
import type { ReleaseOutcome } from "../model";

export interface Claim {
  requestId: string;
  actor: string;
  state: "running" | "applied" | "unknown";
  at: number;
}

const APPLIED_KEEP_MS = 10 * 60_000;

export class ReleaseClaims {
  private readonly claims = new Map<string, Claim>();
  private readonly byRequest = new Map<string, string>();

  /** The id of a holding: connection, lock key and the fence's store identity. */
  static idOf(connection: string, key: string, holding: FenceHolding): string {
    return JSON.stringify([connection, key, holding]);
  }

  /** Takes the claim, or returns whoever has it. */
  take(id: string, requestId: string, actor: string, now = Date.now()): Claim | null {
    const c = this.claims.get(id);
    if (c && !(c.state === "applied" && now - c.at > APPLIED_KEEP_MS)) return c;
    this.claims.set(id, { requestId, actor, state: "running", at: now });
    this.byRequest.set(requestId, id);
    this.prune(now);
    return null;
  }

  /** The attempt ended: keep the claim (applied, unknown) or let the next attempt go ahead. */
  finish(requestId: string, status: ReleaseOutcome["status"] | "aborted", now = Date.now()): void {
    const id = this.byRequest.get(requestId);
    const c = id ? this.claims.get(id) : undefined;
    if (!id || !c || c.requestId !== requestId) return;
    if (status === "released") this.claims.set(id, { ...c, state: "applied", at: now });
    else if (status === "unknown") this.claims.set(id, { ...c, state: "unknown", at: now });
    else this.drop(requestId);
  }

  /** The reconciler settled an unknown outcome. */
  settled(requestId: string, outcome: "applied" | "not_applied" | "unknown", now = Date.now()): void {
    if (outcome === "applied") this.finish(requestId, "released", now);
    else this.drop(requestId);
  }

  private drop(requestId: string): void {
    const id = this.byRequest.get(requestId);
    this.byRequest.delete(requestId);
    if (id && this.claims.get(id)?.requestId === requestId) this.claims.delete(id);
  }

  private prune(now: number): void {
    if (this.claims.size < 1_000) return;
    for (const [id, c] of this.claims) {
      if (c.state === "applied" && now - c.at > APPLIED_KEEP_MS) {
        this.claims.delete(id);
        this.byRequest.delete(c.requestId);
      }
    }
  }
}
