// One release per exact holding at a time, and one answer per confirmation.
//
// Holdings: twenty operators (or a retried POST with a fresh id) confirming the release of the
// same fence at once get exactly one attempt at the store; the others are answered 409 without
// anything being sent, naming the request that holds the claim. A claim ends with its attempt,
// except:
//   applied → kept for a while: that holding is gone, and a confirmation made from a view read
//             before the release is a duplicate (also when the app has since taken the lock
//             again with the same token: a fence names the holding's identity — a token's
//             digest, a Redisson thread — so that holding has the same fence, but nobody who
//             confirmed from the old view saw it). A confirmation from a view read after the
//             hub's read that followed the release (`seenAt` > `readAfter`) is of a holding
//             taken again since, seen by the operator: it goes ahead. Without `seenAt` (an API
//             client) the claim stands for APPLIED_KEEP_MS;
//   unknown → kept until the reconciler settles it: an outcome nobody saw is never retried
//             blindly, not even by a second operator.
//
// Confirmations: the answer of each request id this replica took is kept (APPLIED_KEEP_MS); the
// same request again (same operator, same key, fence, mode and target: a double-click that got
// through, a POST repeated by a proxy) is answered with it — the first request's outcome, once
// it is known — and sends nothing. Another replica, or this one after a restart, answers a
// repeat 409 `duplicate` (the id is used).

import type { FenceHolding } from "../fence";
import type { ReleaseOutcome } from "../model";

export interface Claim {
  requestId: string;
  actor: string;
  state: "running" | "applied" | "unknown";
  /** When the claim was taken or its attempt ended (ms). */
  at: number;
  /**
   * applied: when the hub's read right after the release was made (ms, never before the attempt
   * ended). A holding of this identity in a view read later was taken again after the release.
   * null: that read failed, so a later view cannot be told from the released holding.
   */
  readAfter?: number | null;
}

/** What a claim refusal says: why, and until when it stands (ms; null = until the attempt or the reconciler ends it). */
export interface ClaimRefusal {
  claim: Claim;
  until: number | null;
  /** applied: the confirmation's view was read before the release (seenAt ≤ readAfter). */
  seenBefore: boolean;
}

export const APPLIED_KEEP_MS = 10 * 60_000;
/** At most this many claims and remembered answers before old ones are pruned. */
const PRUNE_AT = 1_000;

interface Answered {
  actor: string;
  /** The request's target (connection, key, fence, mode, holder): a repeat names the same. */
  what: string;
  answer: Promise<unknown>;
  at: number;
}

export class ReleaseClaims {
  private readonly claims = new Map<string, Claim>();
  private readonly byRequest = new Map<string, string>();
  private readonly answers = new Map<string, Answered>();

  /** The id of a holding: connection, lock key and the fence's store identity. */
  static idOf(connection: string, key: string, holding: FenceHolding): string {
    return JSON.stringify([connection, key, holding]);
  }

  /**
   * Takes the claim, or returns whoever has it. `seenAt`: when the view the operator confirmed
   * from was read (ms, the lock's observedAt); a view read after an applied release's
   * `readAfter` shows a holding taken again since, and takes the claim.
   */
  take(id: string, requestId: string, actor: string, now = Date.now(), seenAt?: number): Claim | null {
    const c = this.claims.get(id);
    if (c && !ended(c, now, seenAt)) return c;
    if (c) this.byRequest.delete(c.requestId);
    this.claims.set(id, { requestId, actor, state: "running", at: now });
    this.byRequest.set(requestId, id);
    this.prune(now);
    return null;
  }

  /** What a refusal by `claim` (from take) says: until when it stands, and whether the view predates the release. */
  static refusal(claim: Claim, seenAt?: number): ClaimRefusal {
    if (claim.state !== "applied") return { claim, until: null, seenBefore: false };
    const seenBefore = seenAt !== undefined && claim.readAfter != null && seenAt <= claim.readAfter;
    return { claim, until: claim.at + APPLIED_KEEP_MS, seenBefore };
  }

  /**
   * The attempt ended: keep the claim (applied, unknown) or let the next attempt go ahead.
   * `readAfter`: for a release that applied, when the hub's read after it was made (see Claim).
   */
  finish(requestId: string, status: ReleaseOutcome["status"] | "aborted", now = Date.now(), readAfter: number | null = null): void {
    const id = this.byRequest.get(requestId);
    const c = id ? this.claims.get(id) : undefined;
    if (!id || !c || c.requestId !== requestId) return;
    if (status === "released") this.claims.set(id, { ...c, state: "applied", at: now, readAfter: readAfter === null ? null : Math.max(readAfter, now) });
    else if (status === "unknown") this.claims.set(id, { ...c, state: "unknown", at: now });
    else this.drop(requestId);
  }

  /** The reconciler settled an unknown outcome (it cannot say when the store was read after it: no readAfter). */
  settled(requestId: string, outcome: "applied" | "not_applied" | "unknown", now = Date.now()): void {
    if (outcome === "applied") this.finish(requestId, "released", now);
    else this.drop(requestId);
  }

  /**
   * The answer of the request `requestId` if this replica took it for the same operator and
   * target (running or done), else null (never seen here, or another operator or target: a
   * duplicate id, refused by the caller).
   */
  repeatOf(requestId: string, actor: string, what: string, now = Date.now()): Promise<unknown> | null {
    const a = this.answers.get(requestId);
    if (!a || now - a.at > APPLIED_KEEP_MS || a.actor !== actor || a.what !== what) return null;
    return a.answer;
  }

  /** Remembers the answer of request `requestId` (taken now) for its repeats. */
  answering(requestId: string, actor: string, what: string, answer: Promise<unknown>, now = Date.now()): void {
    // A refusal is the route's to answer; a repeat awaits it again.
    answer.catch(() => undefined);
    this.answers.set(requestId, { actor, what, answer, at: now });
    if (this.answers.size < PRUNE_AT) return;
    for (const [id, a] of this.answers) if (now - a.at > APPLIED_KEEP_MS) this.answers.delete(id);
  }

  private drop(requestId: string): void {
    const id = this.byRequest.get(requestId);
    this.byRequest.delete(requestId);
    if (id && this.claims.get(id)?.requestId === requestId) this.claims.delete(id);
  }

  private prune(now: number): void {
    if (this.claims.size < PRUNE_AT) return;
    for (const [id, c] of this.claims) {
      if (c.state === "applied" && now - c.at > APPLIED_KEEP_MS) {
        this.claims.delete(id);
        this.byRequest.delete(c.requestId);
      }
    }
  }
}

/** An applied claim no longer stands: kept long enough, or the confirmation's view was read after the hub's read that followed the release. */
function ended(c: Claim, now: number, seenAt: number | undefined): boolean {
  if (c.state !== "applied") return false;
  if (now - c.at > APPLIED_KEEP_MS) return true;
  return seenAt !== undefined && c.readAfter != null && seenAt > c.readAfter;
}
