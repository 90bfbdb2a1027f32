// Authorisation and CSRF checks, called inside every route handler (not in middleware:
// CVE-2025-29927 showed middleware can be skipped).
//   - users in config: a signed session cookie from /api/auth/login;
//   - proxy mode (off by default): a trusted reverse proxy's user and groups headers;
//   - neither: one local operator (LOCKDECK_OPERATOR), and the console listens on loopback only.

import { HttpError } from "../api/errors";
import { registry } from "../registry";
import { authEnabled, type AuthConfig, type Role } from "./config";
import { SESSION_COOKIE, readCookie, verifySession } from "./session";

export type { Role };
export type Action = "view" | "release" | "settings";

export interface Actor {
  name: string;
  role: Role;
  method: "local" | "session" | "proxy";
  sourceIp?: string;
  userAgent?: string;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Action, Role> = { view: "viewer", release: "operator", settings: "admin" };

/** Who is asking, or null when nobody is signed in. */
export function identify(req: Request, auth: AuthConfig = registry().config.auth): Actor | null {
  const where = {
    sourceIp: req.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || undefined,
    userAgent: req.headers.get("user-agent") ?? undefined,
  };
  if (!authEnabled(auth)) {
    const role = (process.env.LOCKDECK_ROLE as Role | undefined) ?? "admin";
    return { name: process.env.LOCKDECK_OPERATOR ?? "local-operator", role: RANK[role] === undefined ? "viewer" : role, method: "local", ...where };
  }
  const session = verifySession(readCookie(req, SESSION_COOKIE));
  // A session names a user; the role is read from config now, so a demotion applies at once.
  if (session) {
    const user = auth.users.find((u) => u.name === session.u);
    if (user) return { name: user.name, role: user.role, method: "session", ...where };
  }
  if (auth.proxy.enabled) {
    const name = req.headers.get(auth.proxy.userHeader)?.trim();
    if (name) {
      const groups = (req.headers.get(auth.proxy.groupsHeader) ?? "").split(",").map((g) => g.trim());
      const role: Role = groups.some((g) => auth.proxy.adminGroups.includes(g))
        ? "admin"
        : groups.some((g) => auth.proxy.operatorGroups.includes(g))
          ? "operator"
          : "viewer";
      return { name, role, method: "proxy", ...where };
    }
  }
  return null;
}

export function authorize(req: Request, action: Action): Actor {
  const actor = identify(req);
  if (!actor) throw new HttpError(401, "unauthenticated", "sign in first");
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
