// GET /api/connections/:id/sessions (lib/stores/consul/module.ts): Consul sessions
// (GET /v1/session/list, read at the connection's consistency) with their checks' status and the
// keys each holds under the watched prefixes.

import type { Hub } from "../../hub/hub";
import { HttpError } from "../../api/http-error";
import { NoQuery, parseQuery } from "../../api/params";
import type { SessionsView } from "./sessions";

const TIMEOUT_MS = 10_000;

type WithSessions = { sessions(signal: AbortSignal): Promise<SessionsView> };

export async function sessionsApi(req: Request, { hub }: { hub: Hub }): Promise<Response> {
  parseQuery(NoQuery, req);
  const adapter = hub.adapter as Partial<WithSessions>;
  if (hub.adapter.kind !== "consul" || typeof adapter.sessions !== "function") {
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
  const status = hub.statusEvent();
  return Response.json({ ...view, mode: status.mode, stale: status.stale, staleAgeMs: status.staleAgeMs }, { headers: { "cache-control": "no-store" } });
}
