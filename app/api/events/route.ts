import { handler } from "@/lib/api/errors";
import { authorize, resolveIdentity } from "@/lib/auth/guard";
import { registry } from "@/lib/registry";
import { SESSION_COOKIE, readCookie } from "@/lib/auth/session";
import { eventStream } from "@/lib/api/sse";
import { exposureOf } from "@/lib/api/exposure";
import { EventsQuery, parseQuery } from "@/lib/api/params";
import { otherMethods } from "@/lib/api/methods";

export const dynamic = "force-dynamic";

export const GET = handler(async (req: Request) => {
  const actor = authorize(req, "view");
  const { connection } = parseQuery(EventsQuery, req);
  if (connection) registry().get(connection); // 404 for an unknown connection
  // Replayed only when it is an id of this process's epoch (lib/hub/bus.ts); else a resync.
  const last = req.headers.get("last-event-id");
  // The stream stays tied to this identity: resolved again from this request's cookie or
  // headers, against the config and sessions as they are then (lib/api/sse.ts).
  const opener = { actor, identify: () => resolveIdentity(req), session: readCookie(req, SESSION_COOKIE) };
  return new Response(eventStream(registry(), connection, last, req.signal, exposureOf(actor), opener), {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
});

export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
