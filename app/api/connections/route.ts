import { handler } from "@/lib/api/errors";
import { NoQuery, parseQuery } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import type { ConnectionSummary } from "@/lib/api/types";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  parseQuery(NoQuery, req);
  const body = registry()
    .list()
    .map(({ hub, ...c }): ConnectionSummary => ({ ...c, ...hub.statusEvent(), id: c.id, counts: hub.counts() }));
  return Response.json(body, { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
