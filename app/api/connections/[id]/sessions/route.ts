import { HttpError, handler } from "@/lib/api/errors";
import { authorize } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import type { SessionsView } from "@/lib/stores/consul/sessions";

export const dynamic = "force-dynamic";

const TIMEOUT_MS = 10_000;

type WithSessions = { sessions(signal: AbortSignal): Promise<SessionsView> };

/**
 * Consul sessions (GET /v1/session/list, read at the connection's consistency) with their
 * checks' status and the keys each holds under the watched prefixes. Consul connections only.
 */
export const GET = handler(async (req: Request, { params }: { params: Promise<{ id: string }> }) => {
  authorize(req, "view");
  const { id } = await params;
  const conn = registry().get(id);
  const adapter = conn.hub.adapter as Partial<WithSessions>;
  if (conn.config.kind !== "consul" || typeof adapter.sessions !== "function") {
    throw new HttpError(404, "not_found", "sessions are a Consul concept: this connection has none");
  }
  let view: SessionsView;
  try {
    view = await adapter.sessions(AbortSignal.timeout(TIMEOUT_MS));
  } catch (err) {
    // Checked by name: route bundles may hold their own copy of the class.
    const e = err as Error & { code?: string };
    if (e.name !== "ConsulError") throw err;
    const forbidden = e.code === "forbidden";
    throw new HttpError(forbidden ? 502 : 503, forbidden ? "not_permitted" : "unreachable", e.message);
  }
  const status = conn.hub.statusEvent();
  return Response.json(
    { ...view, mode: status.mode, stale: status.stale, staleAgeMs: status.staleAgeMs },
    { headers: { "cache-control": "no-store" } },
  );
});
