// The answers for the methods a route does not serve. Left to Next, such a method gets an empty
// 405 with no Allow header (RFC 9110 asks for one), and OPTIONS lists only what the module
// exports. Every route exports these for each method it does not implement:
//   export const { POST, PUT, PATCH, DELETE, OPTIONS } = otherMethods("GET");
// (HEAD is served from GET by Next; a route without GET takes HEAD from here too.)
// app/api/methods.test.ts checks that every route answers every method.

import { handler, jsonError } from "./errors";

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
type RouteHandler = (req: Request) => Promise<Response>;

/** Handlers for the methods other than `served`: 405 naming `method` with Allow, and OPTIONS 204 with Allow. */
export function otherMethods<S extends HttpMethod>(...served: S[]): Record<Exclude<HttpMethod, S>, RouteHandler> {
  const allowed = new Set<HttpMethod>([...served, "OPTIONS"]);
  if (allowed.has("GET")) allowed.add("HEAD");
  const allow = HTTP_METHODS.filter((m) => allowed.has(m)).join(", ");
  const refuse = handler(async (req: Request) => {
    const res = jsonError(405, "method_not_allowed", `method: ${req.method} is not served here (allowed: ${allow})`);
    res.headers.set("allow", allow);
    return res;
  });
  const options = handler(async () => new Response(null, { status: 204, headers: { allow, "cache-control": "no-store" } }));
  const out: Partial<Record<HttpMethod, RouteHandler>> = {};
  for (const m of HTTP_METHODS) if (!(served as HttpMethod[]).includes(m)) out[m] = m === "OPTIONS" ? options : refuse;
  return out as Record<Exclude<HttpMethod, S>, RouteHandler>;
}
