import { z } from "zod";
import { handler } from "@/lib/api/errors";
import { authorize, can } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";

export const dynamic = "force-dynamic";

const Query = z.object({
  connection: z.string().max(64).optional(),
  key: z.string().max(64 * 1024).optional(),
  limit: z.coerce.number().int().min(1).max(5_000).default(500),
});

export const GET = handler(async (req: Request) => {
  const actor = authorize(req, "view");
  const url = new URL(req.url);
  const q = Query.parse(Object.fromEntries([...url.searchParams].filter(([, v]) => v !== "")));
  const reg = registry();
  // Fences name exact holdings (and, in lines written before fences were signed, raw values):
  // viewers get the trail without them.
  const entries = can(actor, "release") ? reg.audit.read(q) : reg.audit.read(q).map((e) => ({ ...e, fence: "" }));
  return Response.json({ entries, chainBrokenAt: reg.audit.verify() }, { headers: { "cache-control": "no-store" } });
});
