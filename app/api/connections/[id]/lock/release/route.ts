import { HttpError, handler, jsonError } from "@/lib/api/errors";
import { authorize, checkCsrf } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { ReleaseBody, release } from "@/lib/api/release";

export const dynamic = "force-dynamic";

export const POST = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  checkCsrf(req);
  const actor = authorize(req, "release");
  const { id } = await params;
  const body = ReleaseBody.parse(await req.json().catch(() => {
    throw new HttpError(400, "bad_request", "body is not JSON");
  }));
  const { outcome, auditId } = await release(registry(), id, body, actor);
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
});
