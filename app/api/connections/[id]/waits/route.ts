import { handler, HttpError } from "@/lib/api/errors";
import { WaitsQuery, parseQuery } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { lockWaitsAnswer, waitsAnswer } from "@/lib/waits/api";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/**
 * The wait-for graph of one connection: `{ edges, cycles, owners, … }` (lib/waits/types.ts), or
 * with `?key=` one lock's holders through it (what they wait for, what else they hold).
 */
export const GET = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  authorize(req, "view");
  const { id } = await params;
  const r = registry();
  const { hub } = r.get(id);
  const q = parseQuery(WaitsQuery, req);
  const graph = r.waits.graph(id);
  if (q.key !== undefined) {
    const problem = hub.adapter.keyProblem(q.key);
    if (problem) throw new HttpError(400, problem.code, problem.message);
    return Response.json(lockWaitsAnswer(id, graph, q.key, hub.get(q.key)), { headers: { "cache-control": "no-store" } });
  }
  return Response.json(waitsAnswer(id, graph, hub, q.limit), { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
