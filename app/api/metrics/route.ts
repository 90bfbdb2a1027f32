import { handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { metricsText } from "@/lib/history/api";

export const dynamic = "force-dynamic";

/** Prometheus text exposition: per connection, and per lock for the most contended few. */
export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  return new Response(metricsText(registry()), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
  });
});
