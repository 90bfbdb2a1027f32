// Authorisation and CSRF checks, called inside every route handler (not in middleware:
// CVE-2025-29927 showed middleware can be skipped). Sign-in and roles from config come with
// the access-control work; until then every caller is the single local operator named by
// LOCKDECK_OPERATOR, and the product binds to loopback (see README).

import { HttpError } from "../api/errors";

export type Action = "view" | "release" | "settings";
export type Role = "viewer" | "operator" | "admin";

export interface Actor {
  name: string;
  role: Role;
  sourceIp?: string;
  userAgent?: string;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Action, Role> = { view: "viewer", release: "operator", settings: "admin" };

export function actorOf(req: Request): Actor {
  const role = (process.env.LOCKDECK_ROLE as Role | undefined) ?? "admin";
  return {
    name: process.env.LOCKDECK_OPERATOR ?? "local-operator",
    role: RANK[role] === undefined ? "viewer" : role,
    sourceIp: req.headers.get("x-forwarded-for")?.split(",")[0]?.trim() ?? undefined,
    userAgent: req.headers.get("user-agent") ?? undefined,
  };
}

export function authorize(req: Request, action: Action): Actor {
  const actor = actorOf(req);
  if (RANK[actor.role] < RANK[NEEDS[action]]) throw new HttpError(403, "forbidden", `${actor.role} may not ${action}`);
  return actor;
}

export function can(actor: Actor, action: Action): boolean {
  return RANK[actor.role] >= RANK[NEEDS[action]];
}

/**
 * Route handlers get no CSRF protection from Next. A state-changing request must be JSON,
 * carry our custom header (a cross-site form cannot set it), and come from our own origin:
 * a foreign Origin, or Origin "null" (sandboxed iframes), or a cross-site Sec-Fetch-Site fails.
 */
export function checkCsrf(req: Request): void {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new HttpError(415, "bad_request", "state-changing requests must be application/json");
  }
  if (req.headers.get("x-lockdeck-csrf") !== "1") throw new HttpError(403, "csrf", "missing x-lockdeck-csrf header");
  const site = req.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") throw new HttpError(403, "csrf", `cross-site request (${site})`);
  const origin = req.headers.get("origin");
  if (origin !== null) {
    const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host");
    let originHost: string | null = null;
    try {
      originHost = origin === "null" ? null : new URL(origin).host;
    } catch {
      originHost = null;
    }
    if (!originHost || originHost !== host) throw new HttpError(403, "csrf", `origin ${origin} is not this site`);
  }
}
