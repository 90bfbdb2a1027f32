import { handler } from "@/lib/api/errors";
import { checkCsrf, identify } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { logout } from "@/lib/api/login";
import { recheckStreams } from "@/lib/api/sse";
import { SESSION_COOKIE, readCookie } from "@/lib/auth/session";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** Sign-out: the session is revoked on the server (not only the cookie cleared), and audited. */
export const POST = handler(async (req: Request) => {
  checkCsrf(req);
  const reg = registry();
  const cookie = await logout(reg, req, identify(req)?.name ?? null);
  // Open event streams of that session end now, not at their next check (lib/api/sse.ts).
  const session = readCookie(req, SESSION_COOKIE);
  if (session) recheckStreams(session);
  return Response.json({ ok: true }, { headers: { "set-cookie": cookie, "cache-control": "no-store" } });
});

export const { GET, HEAD, PUT, PATCH, DELETE, OPTIONS } = otherMethods("POST");
