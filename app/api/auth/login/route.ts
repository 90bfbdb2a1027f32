import { handler } from "@/lib/api/errors";
import { checkCsrf } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { LoginBody, login } from "@/lib/api/login";
import { readJson } from "@/lib/api/body";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const POST = handler(async (req: Request) => {
  checkCsrf(req);
  const body = await readJson(req, LoginBody);
  const cookie = await login(registry(), body, req);
  return Response.json({ ok: true }, { headers: { "set-cookie": cookie, "cache-control": "no-store" } });
});

export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = otherMethods("POST");
