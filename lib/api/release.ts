// Force-release, the one destructive action (reliability.md §2.0): the fence the operator saw
// is checked against the key, intent is audited before the store is called, the store does a
// conditional delete, the outcome is audited, and the hub re-reads the key. Never retried.

import { z } from "zod";
import { randomUUID } from "node:crypto";
import type { Connection, Registry } from "../registry";
import type { Actor } from "../auth/guard";
import type { Role } from "../auth/config";
import type { AuditInput } from "../audit/log";
import type { PendingRelease } from "./approvals";
import type { LockRecord, LockView, ReleaseOutcome } from "../model";
import { decodeFence, fenceFor, isFenceError, type Fence } from "../fence";
import { answerOf, HttpError } from "./errors";
import { echoed } from "./http-error";
import { ReleaseClaims, type ClaimRefusal } from "./claims";
import { goneLock, goneMessage } from "./detail";
import { staleAckProblem } from "./stale-ack";
import { afterRelease } from "./after-release";
import { readJsonValue } from "./body";
import { visibleLength } from "../keys";
import type { AfterRelease } from "./types";
import type { Hub } from "../hub/hub";
import { RELEASE_MODES, storeModule } from "../stores";

export const ReleaseBody = z
  .object({
    key: z
      .string()
      .min(1)
      .max(64 * 1024),
    fence: z
      .string()
      .min(1)
      .max(256 * 1024),
    // Visible characters are counted: spaces and zero-width characters alone are no reason.
    reason: z
      .string()
      .trim()
      .max(2_000)
      .refine((r) => visibleLength(r) >= 3, "a reason of at least 3 visible characters is required"),
    /**
     * Any store's mode (lib/stores/<kind>/module.ts). One the connection's store does not offer is
     * refused here (checkTarget); one this lock does not allow, by the adapter.
     */
    mode: z.enum(RELEASE_MODES).default("delete"),
    /**
     * One per confirmation: the same id again by the same operator for the same target gets the
     * first request's answer and sends nothing (double-click, repeated POST); otherwise 409.
     */
    requestId: z.string().uuid().optional(),
    /** On a stale view: the age (ms) the operator acknowledged ("the view is N s old"); required then. */
    staleAckMs: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400_000)
      .optional(),
    /** Several holders (Consul semaphore): release only this holder's slot (its id); absent = every holder seen. */
    target: z.string().min(1).max(1_024).optional(),
    /**
     * When the view the operator confirmed from was read (the lock's observedAt). A holding
     * released earlier and taken again with the same identity (same token) is released again
     * only from a view read after that release (lib/api/claims.ts); it also dates what a gone
     * lock's answer may tell of its end.
     */
    seenAt: z.string().datetime({ offset: true }).optional(),
  })
  .strict();

export type ReleaseRequest = z.infer<typeof ReleaseBody>;

const RELEASE_TIMEOUT_MS = 10_000;

const AUDIT_OUTCOME: Record<ReleaseOutcome["status"], string> = {
  released: "applied",
  changed: "precondition_failed",
  gone: "gone",
  refused: "refused",
  denied: "denied",
  unknown: "unknown",
};

/** What one attempt came to; `note` replaces the generic message, `auditWarning` says the outcome line is missing. */
interface Done {
  outcome: ReleaseOutcome;
  auditId: string | null;
  note?: string;
  auditWarning?: string;
  /** Who holds the lock right after (read back by the hub). */
  after: AfterRelease;
}

export type ReleaseAnswer = ({ kind: "done"; requestId: string } & Done) | { kind: "pending"; approvalId: string; expiresAt: string; requestId: string };

/** A release request from the dialog: checked, rate-limited, then run or held for approval. */
export async function requestRelease(reg: Registry, connectionId: string, body: ReleaseRequest, actor: Actor): Promise<ReleaseAnswer> {
  const requestId = body.requestId ?? randomUUID();
  let conn: Connection;
  try {
    conn = reg.get(connectionId);
  } catch (err) {
    // An unknown connection (404): refused like any other target that is not there. The id is
    // the URL's, any length: the line keeps it cut as the 404 echoes it.
    reg.audit.append({
      ...auditBase(echoed(connectionId), { ...body, requestId }, "", actor),
      phase: "outcome",
      outcome: "refused",
      detail: (err as Error).message,
    });
    throw err;
  }
  const fence = checkTarget(reg, conn, { ...body, requestId }, actor);
  const audit = auditBase(connectionId, { ...body, requestId }, fence.f, actor);
  // The same confirmation again (same operator, same target): the first request's answer, once
  // it is known; nothing is sent. Its line has an id of its own: the request's row keeps its outcome.
  const what = JSON.stringify([connectionId, body.key, body.fence, body.mode, body.target ?? null]);
  const first = body.requestId ? reg.claims.repeatOf(requestId, actor.name, what) : null;
  if (first) {
    reg.audit.append({
      ...audit,
      requestId: randomUUID(),
      phase: "outcome",
      outcome: "refused",
      detail: `a repeat of confirmation ${requestId}: nothing was sent, it is answered with that confirmation's outcome`,
    });
    return (await first) as ReleaseAnswer;
  }
  if (conn.config.readOnly) {
    reg.audit.append({ ...audit, phase: "outcome", outcome: "denied", detail: "connection is read-only" });
    throw new HttpError(403, "read_only", "this connection is read-only");
  }
  const stale = staleAckProblem(conn.hub.freshness(), body.staleAckMs);
  if (stale) {
    reg.audit.append({ ...audit, phase: "outcome", outcome: "refused", detail: `stale view not acknowledged: ${stale.message}` });
    throw new HttpError(428, "stale_ack_required", stale.message, stale.extra);
  }
  // Taken before anything is awaited: a repeat arriving meanwhile finds it.
  const answer = proceed(reg, connectionId, { ...body, requestId }, actor, audit);
  if (body.requestId) reg.claims.answering(requestId, actor.name, what, answer);
  return answer;
}

/** A release past its checks: its confirmation id used once, rate-limited, then run or held for approval. */
async function proceed(
  reg: Registry,
  connectionId: string,
  body: ReleaseRequest & { requestId: string },
  actor: Actor,
  audit: ReturnType<typeof auditBase>,
): Promise<ReleaseAnswer> {
  const requestId = body.requestId;
  if (!(await shared(reg, audit, () => reg.useRequestId(requestId)))) {
    reg.audit.append({ ...audit, phase: "outcome", outcome: "refused", detail: `confirmation ${requestId} was already used: nothing was sent` });
    throw new HttpError(409, "duplicate", "this confirmation was already used");
  }
  if (!(await shared(reg, audit, () => reg.releaseLimiter.take(actor.name)))) {
    reg.audit.append({ ...audit, phase: "outcome", outcome: "rate_limited" });
    throw new HttpError(429, "rate_limited", "too many releases in a short time: wait a minute");
  }
  const rule = reg.config.twoPersonRule;
  if (rule.connections.includes(connectionId)) {
    // The request is on disk before anyone can see it, let alone approve it: an intent that
    // cannot be written (503 audit_unavailable, "nothing was done") leaves nothing queued.
    const approvalId = randomUUID();
    reg.audit.append({ ...audit, phase: "intent", outcome: "pending_approval", detail: `approval ${approvalId} needed within ${rule.windowMinutes} min` });
    let p: PendingRelease;
    try {
      p = await reg.approvals.add(connectionId, body, actor, rule.windowMinutes * 60_000, approvalId);
    } catch (err) {
      // Not queued (PostgreSQL down): the intent's outcome says so.
      try {
        reg.audit.append({ ...audit, phase: "outcome", outcome: "refused", detail: `approval ${approvalId} was not queued: ${(err as Error).message}` });
      } catch (auditErr) {
        console.error(`lockdeck: the refusal of release request ${requestId} could not be audited: ${(auditErr as Error).message}`);
      }
      throw err;
    }
    return { kind: "pending", approvalId: p.id, expiresAt: new Date(p.expiresAt).toISOString(), requestId };
  }
  return { kind: "done", requestId, ...(await execute(reg, connectionId, body, actor)) };
}

/**
 * A call on shared state (PostgreSQL, with several replicas). When the database is down the
 * release is refused (503 shared_state_unavailable) before anything is sent, and the refusal is
 * audited in this replica's trail.
 */
async function shared<T>(reg: Registry, audit: Omit<AuditInput, "phase">, call: () => T | Promise<T>, what = ""): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if ((err as { code?: string }).code === "shared_state_unavailable")
      reg.audit.append({ ...audit, phase: "outcome", outcome: "refused", detail: `${what ? `${what}: ` : ""}${(err as Error).message}` });
    throw err;
  }
}

/**
 * Before anything else: the fence is one this server signed, for this connection, key and
 * store; the key is one the connection covers; the mode is one its store offers. A refusal is
 * audited with its reason and answers 400; nothing reaches the store.
 */
function checkTarget(reg: Registry, conn: Connection, body: ReleaseRequest & { requestId: string }, actor: Actor): Fence {
  const adapter = conn.hub.adapter;
  const refuse = (code: string, message: string, format = "", extra?: Record<string, unknown>): never => {
    reg.audit.append({ ...auditBase(conn.config.id, body, format, actor), phase: "outcome", outcome: "refused", detail: message });
    throw new HttpError(400, code, message, extra);
  };
  let fence: Fence | null = null;
  try {
    fence = fenceFor(body.fence, { connection: conn.config.id, key: body.key, formats: adapter.formats });
  } catch (err) {
    if (!isFenceError(err)) throw err;
    refuse("bad_fence", err.message, "", { field: "fence" });
  }
  const problem = adapter.keyProblem(body.key);
  if (problem) refuse(problem.code, problem.message, fence!.f, { field: "key" });
  const modes = storeModule(conn.config.kind).releaseModes;
  if (!modes.includes(body.mode)) {
    refuse("bad_request", `mode: ${conn.config.kind} locks are released by ${modes.join(" or ")}, not ${body.mode}`, fence!.f, { field: "mode" });
  }
  return fence!;
}

/** What a refused request's audit line takes from its body, each field only when it reads: nothing else is trusted. */
const RefusedBody = z.object({
  key: z
    .string()
    .max(64 * 1024)
    .optional()
    .catch(undefined),
  reason: z.string().max(2_000).optional().catch(undefined),
  mode: z.string().max(64).optional().catch(undefined),
  requestId: z.string().uuid().optional().catch(undefined),
});

/**
 * A release or approval refused before it reached requestRelease/approveRelease (CSRF, role, a
 * body that does not parse) is audited when the asker is known: denied for the role or the
 * origin, refused otherwise, with the key and reason the body names when they read. `body`: the
 * JSON already read, if it was; when it was not (refused at CSRF or role), it is read here,
 * bounded like any body. An anonymous request is not audited: the trail is of known people's
 * actions, and a durable (fsynced) line for every anonymous request would let anyone fill the
 * disk. The refusal stands even when its line cannot be written: nothing was done. Rethrows `err`.
 */
export async function refusedRequest(
  reg: Registry,
  req: Request,
  what: { action: "release" | "approve"; connection: string; detail?: string },
  actor: Actor | null,
  err: unknown,
  body?: { json: unknown },
): Promise<never> {
  if (actor) {
    const json = body ? body.json : await readJsonValue(req).catch(() => undefined);
    const named = RefusedBody.safeParse(json).data;
    const answer = answerOf(err);
    try {
      reg.audit.append({
        action: what.action,
        requestId: named?.requestId ?? randomUUID(),
        phase: "outcome",
        outcome: answer?.status === 401 || answer?.status === 403 ? "denied" : "refused",
        actor: actor.name,
        role: actor.role,
        connection: what.connection,
        key: named?.key ?? "",
        format: "",
        fence: "",
        reason: named?.reason ?? "",
        mode: named?.mode ?? "",
        // The words the asker got back.
        detail: `${what.detail ? `${what.detail}: ` : ""}${answer?.message ?? (err instanceof Error ? err.message : String(err))}`,
        sourceIp: actor.sourceIp,
        userAgent: actor.userAgent,
      });
    } catch (auditErr) {
      console.error(`lockdeck: a refused ${what.action} could not be audited: ${(auditErr as Error).message}`);
    }
  }
  throw err;
}

const NOT_PENDING = "no pending release with that id (approved, expired or never made)";

/**
 * A second operator approves a pending release; it then runs with the original fence, as the
 * requester with the role the config gives them now. Every refusal is audited, also an id that
 * is not (or no longer) pending: a replay, a second approval, the loser of a race.
 */
export async function approveRelease(reg: Registry, approvalId: string, approver: Actor): Promise<ReleaseAnswer> {
  const asked = `approval ${JSON.stringify(echoed(approvalId))}`;
  // Before the request is found there is none to tie the line to: it names the id asked for.
  const unmatched: Omit<AuditInput, "phase"> & { action: "approve" } = {
    action: "approve",
    requestId: randomUUID(),
    actor: approver.name,
    role: approver.role,
    connection: "",
    key: "",
    format: "",
    fence: "",
    reason: "",
    mode: "",
    sourceIp: approver.sourceIp,
    userAgent: approver.userAgent,
  };
  const gone = (base: Omit<AuditInput, "phase">, why: string) => {
    reg.audit.append({ ...base, phase: "outcome", outcome: "refused", detail: `${asked}: ${why}` });
    return new HttpError(404, "not_found", NOT_PENDING);
  };
  const p = await shared(reg, unmatched, () => reg.approvals.get(approvalId), asked);
  if (!p) throw gone(unmatched, NOT_PENDING);
  const base = { ...auditBase(p.connection, p.request, decodeFence(p.request.fence).f, approver), action: "approve" as const };
  if (approver.name === p.requester.name) {
    reg.audit.append({ ...base, phase: "outcome", outcome: "denied", detail: "the requester cannot approve their own release" });
    throw new HttpError(403, "forbidden", "a second operator must approve this release");
  }
  // Taken once: another operator approving at the same moment (on any replica) gets 404.
  if (!(await shared(reg, base, () => reg.approvals.take(approvalId)))) {
    throw gone(base, "taken by another approval at the same moment (on this or another replica): it runs once, not again");
  }
  if (p.expiresAt <= Date.now()) {
    reg.audit.append({ ...base, phase: "outcome", outcome: "expired" });
    throw new HttpError(410, "expired", "the approval window has passed: nothing was released");
  }
  const requester = requesterNow(reg, p.requester);
  if ("refused" in requester) {
    // Dropped (taken above): nobody can approve it later.
    reg.audit.append({ ...base, phase: "outcome", outcome: "denied", detail: `${requester.refused}: the request is dropped, nothing was released` });
    throw new HttpError(403, "forbidden", `${requester.refused}: the request is dropped and nothing was released`, { field: "requester" });
  }
  reg.audit.append({ ...base, phase: "outcome", outcome: "applied", detail: `approved release requested by ${p.requester.name}` });
  const done = await execute(reg, p.connection, p.request, requester.actor, approver.name);
  return { kind: "done", requestId: p.request.requestId, ...done };
}

const MAY_RELEASE: readonly Role[] = ["operator", "admin"];

/**
 * The requester of a pending release as the config has them now: roles are read from config,
 * so a demotion (or a removal) applies at once, also to what they asked before. A requester
 * the proxy named (their role came from its groups header) or the local operator (no sign-in)
 * cannot be looked up again and keeps the role they asked with.
 */
function requesterNow(reg: Registry, requester: Actor): { actor: Actor } | { refused: string } {
  if (requester.method !== "session") return { actor: requester };
  const user = reg.config.auth.users.find((u) => u.name === requester.name);
  const who = `${requester.name}, who requested this release,`;
  if (!user) return { refused: `${who} is no longer a user in the config` };
  if (!MAY_RELEASE.includes(user.role)) return { refused: `${who} is a ${user.role} now and may not release` };
  return { actor: { ...requester, role: user.role } };
}

async function execute(reg: Registry, connectionId: string, body: ReleaseRequest & { requestId: string }, actor: Actor, approvedBy?: string): Promise<Done> {
  const { hub } = reg.get(connectionId);
  const fence = decodeFence(body.fence);
  const audit = { ...auditBase(connectionId, body, fence.f, actor), approvedBy };
  // A stale view whose age the operator acknowledged: if the store answers now (it may be back
  // before the hub has re-listed), the fence-conditional release may go ahead.
  const acked = body.staleAckMs !== undefined && hub.freshness().stale;
  if (!hub.reachable && !(acked && (await answersNow(hub)))) {
    reg.audit.append({ ...audit, phase: "outcome", outcome: "refused", detail: "store unreachable: cannot confirm the current state" });
    throw new HttpError(503, "unreachable", "the store cannot be read right now, so the holding cannot be confirmed: nothing was sent");
  }
  if (body.target !== undefined) {
    const seen = hub.get(body.key);
    const plan = hub.adapter.describeRelease(withOperatorFence(seen, connectionId, body, fence.f), body.mode);
    if (!plan.targets?.some((t) => t.id === body.target)) {
      reg.audit.append({ ...audit, phase: "outcome", outcome: "refused", detail: `target ${body.target} is not a holder that can be released alone` });
      throw new HttpError(
        400,
        "bad_request",
        `target: "${body.target}" is not one of the holders this release can act on alone (${plan.targets?.map((t) => t.id).join(", ") || "none for this lock and mode"})`,
        { field: "target" },
      );
    }
  }

  // One attempt per exact holding at a time: concurrent confirmations of the same fence get 409,
  // and so does one from a view read before this holding's release (lib/api/claims.ts).
  const seenAt = body.seenAt === undefined ? undefined : Date.parse(body.seenAt);
  const claim = reg.claims.take(ReleaseClaims.idOf(connectionId, body.key, fence.h), body.requestId, actor.name, Date.now(), seenAt);
  if (claim) {
    const what = claimWords(ReleaseClaims.refusal(claim, seenAt), seenAt);
    const entry = reg.audit.append({ ...audit, phase: "outcome", outcome: "precondition_failed", detail: `${what}: nothing was sent` });
    return {
      outcome: { status: "changed", current: hub.get(body.key) ?? null },
      auditId: entry.id,
      note: `${what}: nothing was sent. Review the lock.`,
      after: afterRelease(hub, body.key),
    };
  }

  let outcome: ReleaseOutcome = { status: "unknown", reason: "not sent" };
  // When the hub's read after an applied release was made (null: it could not read the lock back).
  let readAfter: number | null = null;
  try {
    try {
      const ack = acked ? `; the operator acknowledged a view ${Math.round(body.staleAckMs! / 1000)} s old` : "";
      reg.audit.append({ ...audit, phase: "intent", detail: `conditional on the fence${body.target ? `; only holder ${body.target}` : ""}${ack}` });
    } catch (err) {
      // Nothing is done without its intent on disk.
      outcome = { status: "refused", reason: "audit unavailable" };
      throw new HttpError(
        503,
        "audit_unavailable",
        `${(err as Error).message}: nothing was sent to the store. Free space or fix the permissions of the data dir, then try again.`,
      );
    }
    // Several replicas: the intent is in the shared trail too before the store is called.
    if (reg.sharedAudit) {
      try {
        await reg.sharedAudit.ship();
      } catch (err) {
        outcome = { status: "refused", reason: "shared audit trail unavailable" };
        reg.audit.append({
          ...audit,
          phase: "outcome",
          outcome: "refused",
          detail: `the shared audit trail cannot be written (${(err as Error).message}): nothing was sent`,
        });
        throw err;
      }
    }

    // The adapter acts on the operator's fence, never on a fresher read.
    const seen = hub.get(body.key);
    const target = withOperatorFence(seen, connectionId, body, fence.f);
    try {
      outcome = await hub.adapter.forceRelease(target, body.mode, AbortSignal.timeout(RELEASE_TIMEOUT_MS), body.target);
    } catch (err) {
      outcome = { status: "unknown", reason: (err as Error).message };
    }
    const detail =
      outcome.status === "refused" || outcome.status === "unknown" || outcome.status === "denied"
        ? outcome.reason
        : outcome.status === "released"
          ? outcome.detail
          : undefined;
    let auditId: string | null = null;
    let auditWarning: string | undefined;
    try {
      auditId = reg.audit.append({ ...audit, phase: "outcome", outcome: AUDIT_OUTCOME[outcome.status], detail }).id;
    } catch (err) {
      // The store call happened: report it, and let the reconciler record it from a fresh read.
      auditWarning = `${(err as Error).message}: the outcome will be recorded from a fresh read of the store once the audit trail can be written`;
      reg.reconciler.add(audit);
    }
    // Never retried: a fresh read decides what happened (lib/audit/reconcile.ts).
    if (outcome.status === "unknown") reg.reconciler.add(audit);
    await hub.applyChanges([body.key]);
    const after = afterRelease(hub, body.key);
    if (hub.reachable) readAfter = Math.max(Date.now(), Date.parse(after.observedAt ?? "") || 0);
    // Gone before the release: what history knows of how it ended (an expiry is nobody's release).
    const note = outcome.status === "gone" ? await goneNote(reg, connectionId, body.key, seenAt) : undefined;
    return { outcome, auditId, auditWarning, after, ...(note && { note }) };
  } finally {
    reg.claims.finish(body.requestId, outcome.status, Date.now(), readAfter);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Why a claim refuses a confirmation, and for how long. */
function claimWords({ claim, until, seenBefore }: ClaimRefusal, seenAt: number | undefined): string {
  const by = `request ${claim.requestId} by ${claim.actor}`;
  if (claim.state === "running") return `a release of this exact holding is already running (${by})`;
  if (claim.state === "unknown") return `the outcome of ${by} for this exact holding is not known yet; LockDeck is re-reading the store`;
  const released = `this exact holding was already released at ${iso(claim.at)} (${by})`;
  if (seenBefore) {
    return `${released}, after your view was read (${iso(seenAt!)}): if the lock is held again under the same identity (a token or thread taken again), that is a new holding you have not seen; re-read the lock and confirm what holds it now`;
  }
  if (claim.readAfter == null) {
    return `${released}, and the lock could not be read back after it, so a holding of the same identity cannot be told from the released one until ${iso(until!)}`;
  }
  return `${released}; a holding of the same identity taken again since is released from a view read after ${iso(claim.readAfter)} (seenAt), or after ${iso(until!)}`;
}

/** A gone lock's answer: how it ended when history recorded it after the operator's view was read, else neutral words. */
async function goneNote(reg: Registry, connection: string, key: string, seenAt: number | undefined): Promise<string> {
  const neutral = "the lock is gone — it expired or was released since your view was read: nothing was deleted";
  if (seenAt === undefined) return neutral;
  try {
    const { last } = await goneLock(reg, connection, key);
    // Only the history's end: the audit's newest release is this very request.
    if (last && last.at >= seenAt) return `the lock is gone — ${goneMessage({ last, release: null })}: nothing was deleted`;
  } catch {
    // History unavailable: neutral words.
  }
  return neutral;
}

/**
 * Does the store answer right now? Health checks for up to 3 s (a client that is reconnecting
 * after the store came back answers within its back-off).
 */
async function answersNow(hub: Hub): Promise<boolean> {
  const until = Date.now() + 3_000;
  for (;;) {
    try {
      if ((await hub.adapter.health(AbortSignal.timeout(2_000))).status !== "unreachable") return true;
    } catch {
      // counts as no answer
    }
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

function auditBase(connection: string, body: ReleaseRequest & { requestId: string }, format: string, actor: Actor) {
  return {
    action: "release" as const,
    requestId: body.requestId,
    actor: actor.name,
    role: actor.role,
    connection,
    key: body.key,
    format,
    fence: body.fence,
    reason: body.reason,
    mode: body.mode,
    sourceIp: actor.sourceIp,
    userAgent: actor.userAgent,
  };
}

/**
 * What the adapter acts on: the lock as last seen (or a placeholder when it is gone from the
 * view) carrying the operator's fence, never a fence made from a fresher read.
 */
function withOperatorFence(seen: LockRecord | undefined, connection: string, body: ReleaseRequest, format: string): LockView {
  if (seen) {
    const { holding: _holding, ...rest } = seen;
    return { ...rest, fence: body.fence };
  }
  return {
    connection,
    key: body.key,
    name: body.key,
    format,
    kind: "mutex",
    state: "unknown",
    holders: [],
    waiters: [],
    ttlMs: null,
    ttlSource: "none",
    fence: body.fence,
    observedAt: new Date().toISOString(),
    consistency: "",
    warnings: [],
  };
}
