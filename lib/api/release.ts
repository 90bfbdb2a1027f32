// Force-release, the one destructive action (reliability.md §2.0): the fence the operator saw
// is checked against the key, intent is audited before the store is called, the store does a
// conditional delete, the outcome is audited, and the hub re-reads the key. Never retried.

import { z } from "zod";
import { randomUUID } from "node:crypto";
import type { Registry } from "../registry";
import type { Actor } from "../auth/guard";
import type { LockRecord, ReleaseOutcome } from "../model";
import { decodeFence } from "../fence";
import { HttpError } from "./errors";

export const ReleaseBody = z
  .object({
    key: z.string().min(1).max(64 * 1024),
    fence: z.string().min(1).max(256 * 1024),
    reason: z.string().trim().min(3, "a reason of at least 3 characters is required").max(2_000),
    mode: z.enum(["delete", "revoke-lease", "destroy-session"]).default("delete"),
    /** One per confirmation: the same id twice is refused (double-click, retried POST). */
    requestId: z.string().uuid().optional(),
  })
  .strict();

export type ReleaseRequest = z.infer<typeof ReleaseBody>;

const RELEASE_TIMEOUT_MS = 10_000;

const AUDIT_OUTCOME: Record<ReleaseOutcome["status"], string> = {
  released: "applied",
  changed: "precondition_failed",
  gone: "gone",
  refused: "refused",
  unknown: "unknown",
};

export async function release(reg: Registry, connectionId: string, body: ReleaseRequest, actor: Actor) {
  const conn = reg.get(connectionId);
  const fence = decodeFence(body.fence);
  if (fence.c !== connectionId || fence.k !== body.key) {
    throw new HttpError(400, "bad_request", "the fence belongs to another lock");
  }
  if (conn.config.readOnly) throw new HttpError(403, "read_only", "this connection is read-only");
  const requestId = body.requestId ?? randomUUID();
  if (reg.usedRequestIds.has(requestId)) throw new HttpError(409, "duplicate", "this confirmation was already used");
  reg.usedRequestIds.add(requestId);

  const { hub } = conn;
  const seen = hub.get(body.key);
  const audit = {
    requestId,
    actor: actor.name,
    role: actor.role,
    connection: connectionId,
    key: body.key,
    format: fence.f,
    fence: body.fence,
    reason: body.reason,
    mode: body.mode,
    sourceIp: actor.sourceIp,
    userAgent: actor.userAgent,
  };
  if (!hub.reachable) {
    reg.audit.append({ ...audit, phase: "outcome", outcome: "refused", detail: "store unreachable: cannot confirm the current state" });
    throw new HttpError(503, "unreachable", "the store cannot be read right now, so the holding cannot be confirmed: nothing was sent");
  }
  reg.audit.append({ ...audit, phase: "intent", detail: "conditional on the fence" });

  // The adapter acts on the operator's fence, never on a fresher read.
  const target: LockRecord = { ...(seen ?? placeholder(connectionId, body.key, fence.f)), fence: body.fence };
  let outcome: ReleaseOutcome;
  try {
    outcome = await hub.adapter.forceRelease(target, body.mode, AbortSignal.timeout(RELEASE_TIMEOUT_MS));
  } catch (err) {
    outcome = { status: "unknown", reason: (err as Error).message };
  }
  const detail = outcome.status === "refused" || outcome.status === "unknown" ? outcome.reason : outcome.status === "released" ? outcome.detail : undefined;
  const entry = reg.audit.append({ ...audit, phase: "outcome", outcome: AUDIT_OUTCOME[outcome.status], detail });
  await hub.applyChanges([body.key]);
  return { outcome, auditId: entry.id, requestId };
}

function placeholder(connection: string, key: string, format: string): LockRecord {
  return {
    connection, key, name: key, format, kind: "mutex", state: "unknown", holders: [], waiters: [],
    ttlMs: null, ttlSource: "none", fence: "", observedAt: new Date().toISOString(), consistency: "", warnings: [],
  };
}
