import { z } from "zod";
import { handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";

export const dynamic = "force-dynamic";

const Query = z.object({
  connection: z.string().max(64).optional(),
  key: z.string().max(64 * 1024).optional(),
  limit: z.coerce.number().int().min(1).max(5_000).default(500),
});

export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  const url = new URL(req.url);
  const q = Query.parse(Object.fromEntries([...url.searchParams].filter(([, v]) => v !== "")));
  const reg = registry();
  return Response.json({ entries: reg.audit.read(q), chainBrokenAt: reg.audit.verify() }, { headers: { "cache-control": "no-store" } });
});
