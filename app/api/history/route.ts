import { handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { historyAnswer } from "@/lib/history/api";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** One lock's contention series: who held it when, waiters over time, hold/wait percentiles. */
export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  return Response.json(await historyAnswer(registry(), req), { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
