import { z } from "zod";
import { handler, HttpError } from "@/lib/api/errors";
import { KeyParam } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { lockWaitsAnswer, waitsAnswer } from "@/lib/waits/api";

export const dynamic = "force-dynamic";

const Query = z
  .object({
    key: KeyParam.optional(),
    limit: z.coerce.number().int().min(1).max(20_000).default(5_000),
  })
  .strict();

/**
 * The wait-for graph of one connection: `{ edges, cycles, owners, … }` (lib/waits/types.ts), or
 * with `?key=` one lock's holders through it (what they wait for, what else they hold).
 */
export const GET = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  authorize(req, "view");
  const { id } = await params;
  const r = registry();
  const { hub } = r.get(id);
  const q = Query.parse(Object.fromEntries(new URL(req.url).searchParams));
  const graph = r.waits.graph(id);
  if (q.key !== undefined) {
    const problem = hub.adapter.keyProblem(q.key);
    if (problem) throw new HttpError(400, problem.code, problem.message);
    return Response.json(lockWaitsAnswer(id, graph, q.key, hub.get(q.key)), { headers: { "cache-control": "no-store" } });
  }
  return Response.json(waitsAnswer(id, graph, hub, q.limit), { headers: { "cache-control": "no-store" } });
});
