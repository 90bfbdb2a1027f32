import { handler } from "@/lib/api/errors";
import { authorize, checkCsrf, identify, type Actor } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { approveRelease, refusedRequest } from "@/lib/api/release";
import { releaseResponse } from "@/lib/api/release-response";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const POST = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  const { id } = await params;
  let approver: Actor;
  try {
    checkCsrf(req);
    approver = authorize(req, "release");
  } catch (err) {
    // Refused before the approval flow (an approval has no body): audited when the asker is known.
    return refusedRequest(registry(), req, { action: "approve", connection: "", detail: `approval ${id.slice(0, 100)}` }, identify(req), err, {
      json: undefined,
    });
  }
  return releaseResponse(await approveRelease(registry(), id, approver));
});

export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = otherMethods("POST");
