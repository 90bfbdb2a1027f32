import { handler } from "@/lib/api/errors";
import { NoQuery, parseQuery } from "@/lib/api/params";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { metricsText } from "@/lib/history/api";
import { waitsAndAlertsExposition } from "@/lib/alerts/metrics";
import { waitFigures } from "@/lib/waits/api";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

/** Prometheus text exposition: per connection, per lock for the most contended few, the wait-for graph and the alerts. */
export const GET = handler(async (req: Request) => {
  authorize(req, "view");
  parseQuery(NoQuery, req);
  const r = registry();
  const waits = r.list().map((c) => waitFigures(c.id, r.waits.graph(c.id)));
  const text = metricsText(r) + waitsAndAlertsExposition(waits, r.alerts.book.active(), r.alerts.webhookStatus());
  return new Response(text, {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" },
  });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
