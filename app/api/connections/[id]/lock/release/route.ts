import { handler } from "@/lib/api/errors";
import { readJsonValue } from "@/lib/api/body";
import { authorize, checkCsrf, identify, type Actor } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { ReleaseBody, refusedRequest, requestRelease, type ReleaseRequest } from "@/lib/api/release";
import { releaseResponse } from "@/lib/api/release-response";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const POST = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  const { id } = await params;
  const what = { action: "release" as const, connection: id };
  // Refused before the release flow: audited by refusedRequest when the asker is known.
  let actor: Actor;
  try {
    checkCsrf(req);
    actor = authorize(req, "release");
  } catch (err) {
    return refusedRequest(registry(), req, what, identify(req), err);
  }
  let json: unknown;
  let body: ReleaseRequest;
  try {
    json = await readJsonValue(req);
    body = ReleaseBody.parse(json);
  } catch (err) {
    return refusedRequest(registry(), req, what, actor, err, { json });
  }
  return releaseResponse(await requestRelease(registry(), id, body, actor));
});

export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = otherMethods("POST");
