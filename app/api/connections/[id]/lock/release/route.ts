import { handler } from "@/lib/api/errors";
import { readJson } from "@/lib/api/body";
import { authorize, checkCsrf } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { ReleaseBody, requestRelease } from "@/lib/api/release";
import { releaseResponse } from "@/lib/api/release-response";

export const dynamic = "force-dynamic";

export const POST = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  checkCsrf(req);
  const actor = authorize(req, "release");
  const { id } = await params;
  const body = await readJson(req, ReleaseBody);
  return releaseResponse(await requestRelease(registry(), id, body, actor));
});
