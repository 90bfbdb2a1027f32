import { handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { topAnswer } from "@/lib/history/api";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** The most contended locks in a window (with heatmap cells) and the incidents in it. */
export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  return Response.json(await topAnswer(registry(), req), { headers: { "cache-control": "no-store" } });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
