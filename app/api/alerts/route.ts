import { handler } from "@/lib/api/errors";
import { NoQuery, parseQuery } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** Alerts firing and pending, each webhook's delivery state (never its URL), the last delivery attempts. */
export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  parseQuery(NoQuery, req);
  return Response.json(registry().alerts.answer(), { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
