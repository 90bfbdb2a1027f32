import { handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { eventStream } from "@/lib/api/sse";
import { exposureOf } from "@/lib/api/exposure";

export const dynamic = "force-dynamic";

export const GET = handler(async (req: Request) => {
  const actor = authorize(req, "view");
  const url = new URL(req.url);
  const connection = url.searchParams.get("connection") || undefined;
  if (connection) registry().get(connection); // 404 for an unknown connection
  const last = req.headers.get("last-event-id");
  return new Response(eventStream(registry(), connection, last ? Number(last) : null, req.signal, exposureOf(actor)), {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
});
