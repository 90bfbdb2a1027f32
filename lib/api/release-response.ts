// How a release answer maps to HTTP: one place for the release and approval routes.

import { jsonError } from "./errors";
import { withFence } from "../fence";
import type { ReleaseAnswer } from "./release";

export function releaseResponse(answer: ReleaseAnswer): Response {
  if (answer.kind === "pending") {
    return Response.json({ pending: { approvalId: answer.approvalId, expiresAt: answer.expiresAt } }, { status: 202 });
  }
  // after: who holds the lock now, read back right after the attempt (lib/api/types.ts AfterRelease).
  const { outcome, auditId, requestId, note, after } = answer;
  const extra = { auditId, requestId, after, ...(answer.auditWarning && { auditWarning: answer.auditWarning }) };
  switch (outcome.status) {
    case "released":
      return Response.json({ outcome, ...extra });
    case "changed":
      // Only those who may release get here, so the current holding comes with its fence.
      return jsonError(409, "changed", note ?? "the lock changed since you looked: nothing was deleted", {
        current: outcome.current && withFence(outcome.current),
        ...extra,
      });
    case "gone":
      // Gone before the release came: expired or released, nothing deleted (`note`: how, when history knows).
      return jsonError(404, "gone", note ?? "the lock is gone — it expired or was released since your view was read: nothing was deleted", extra);
    case "refused":
      return jsonError(400, "refused", outcome.reason, extra);
    case "denied":
      // The store's own permissions said no (least privilege working as meant): its words.
      return jsonError(403, "store_denied", `the store refused the release: ${outcome.reason}. Nothing was changed.`, extra);
    case "unknown":
      // Not 200 and not 409: the store may or may not have applied it. Never retried; the
      // console re-reads the lock and audits what it finds (applied or not applied).
      return jsonError(
        503,
        "outcome_unknown",
        `the store did not answer after the release was sent (${outcome.reason}), so it may or may not have been applied. LockDeck does not retry: it re-reads the lock and records what it finds in the audit trail.`,
        extra,
      );
  }
}
