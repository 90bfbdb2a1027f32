import { handler } from "@/lib/api/errors";
import { authorize, can } from "@/lib/auth/guard";

export const dynamic = "force-dynamic";

export const GET = handler(async (req: Request) => {
  const actor = authorize(req, "view");
  return Response.json({ actor: actor.name, role: actor.role, canRelease: can(actor, "release") });
});
