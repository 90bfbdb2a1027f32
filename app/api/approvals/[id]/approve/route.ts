import { handler } from "@/lib/api/errors";
import { authorize, checkCsrf } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { approveRelease } from "@/lib/api/release";
import { releaseResponse } from "@/lib/api/release-response";

export const dynamic = "force-dynamic";

export const POST = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  checkCsrf(req);
  const approver = authorize(req, "release");
  const { id } = await params;
  return releaseResponse(await approveRelease(registry(), id, approver));
});
