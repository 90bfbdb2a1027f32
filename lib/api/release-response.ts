// How a release answer maps to HTTP: one place for the release and approval routes.

import { jsonError } from "./errors";
import type { ReleaseAnswer } from "./release";

export function releaseResponse(answer: ReleaseAnswer): Response {
  if (answer.kind === "pending") {
    return Response.json({ pending: { approvalId: answer.approvalId, expiresAt: answer.expiresAt } }, { status: 202 });
  }
  const { outcome, auditId } = answer;
  switch (outcome.status) {
    case "released":
      return Response.json({ outcome, auditId });
    case "changed":
      return jsonError(409, "changed", "the lock changed since you looked: nothing was deleted", { current: outcome.current, auditId });
    case "gone":
      return jsonError(404, "gone", "the lock is already released: nothing to delete", { auditId });
    case "refused":
      return jsonError(400, "refused", outcome.reason, { auditId });
    case "unknown":
      return jsonError(503, "unknown", `outcome unknown: ${outcome.reason}. Re-read the lock before trying again.`, { auditId });
  }
}
