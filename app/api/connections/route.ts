import { handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";

export const dynamic = "force-dynamic";

export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  const body = registry()
    .list()
    .map(({ hub, ...c }) => ({ ...c, ...hub.statusEvent(), id: c.id, counts: hub.counts() }));
  return Response.json(body, { headers: { "cache-control": "no-store" } });
});
