import { handler } from "@/lib/api/errors";
import { checkCsrf } from "@/lib/auth/guard";
import { sessionCookie } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

export const POST = handler(async (req: Request) => {
  checkCsrf(req);
  return Response.json({ ok: true }, { headers: { "set-cookie": sessionCookie("", 0, false) } });
});
