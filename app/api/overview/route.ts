import { handler } from "@/lib/api/errors";
import { NoQuery, parseQuery } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { overviewAnswer } from "@/lib/api/overview";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** Recent events across connections, per-connection trends, worst offenders, gaps (lib/api/types.ts OverviewAnswer). */
export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  parseQuery(NoQuery, req);
  return Response.json(await overviewAnswer(registry()), { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
