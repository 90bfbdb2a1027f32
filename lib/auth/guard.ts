// Authorisation and CSRF checks, called inside every route handler (not in middleware:
// CVE-2025-29927 showed middleware can be skipped).
//   - users in config: a server-side session (lib/auth/session.ts) from /api/auth/login;
//   - proxy mode (off by default): the user and groups headers of a trusted reverse proxy,
//     believed only when the socket's peer is in auth.proxy.trustedProxies (lib/auth/peer.ts;
//     an unknown peer, under a bare `next start` or `next dev`, is never trusted);
//   - neither: one local operator (LOCKDECK_OPERATOR), and only loopback Host headers are
//     answered (lib/auth/host.ts).

import { HttpError } from "../api/errors";
import { registry } from "../registry";
import { serverConfig } from "../config";
import { authEnabled, type AuthConfig, type Role } from "./config";
import { SESSION_COOKIE, readCookie, type Sessions } from "./session";
import { peerOf, requestHost } from "./peer";

export type { Role };
export type Action = "view" | "release" | "settings";

export interface Actor {
  name: string;
  role: Role;
  method: "local" | "session" | "proxy";
  /** The client's address as this server can vouch for it (lib/auth/peer.ts); undefined when unknown. */
  sourceIp?: string;
  userAgent?: string;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Action, Role> = { view: "viewer", release: "operator", settings: "admin" };

export interface AuthContext {
  auth: AuthConfig;
  sessions: Sessions | null;
}

function current(): AuthContext {
  const reg = registry();
  return { auth: reg.config.auth, sessions: reg.sessions };
}

/** Who is asking, or null when nobody is signed in. */
export function identify(req: Request, ctx: AuthContext = current()): Actor | null {
  const { auth } = ctx;
  const peer = peerOf(req, auth);
  const where = { sourceIp: peer.client, userAgent: req.headers.get("user-agent")?.slice(0, 300) ?? undefined };
  if (!authEnabled(auth)) {
    const role = (process.env.LOCKDECK_ROLE as Role | undefined) ?? "admin";
    return { name: process.env.LOCKDECK_OPERATOR ?? "local-operator", role: RANK[role] === undefined ? "viewer" : role, method: "local", ...where };
  }
  // A session names a user; the role is read from config now, so a demotion applies at once.
  const user = ctx.sessions?.lookup(readCookie(req, SESSION_COOKIE), auth.users);
  if (user) return { name: user.name, role: user.role, method: "session", ...where };
  if (auth.proxy.enabled && peer.trusted) {
    const name = req.headers.get(auth.proxy.userHeader)?.trim();
    if (name) {
      const groups = (req.headers.get(auth.proxy.groupsHeader) ?? "").split(",").map((g) => g.trim());
      const role: Role = groups.some((g) => auth.proxy.adminGroups.includes(g))
        ? "admin"
        : groups.some((g) => auth.proxy.operatorGroups.includes(g))
          ? "operator"
          : "viewer";
      return { name: name.slice(0, 200), role, method: "proxy", ...where };
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

export function can(actor: Actor | null, action: Action): boolean {
  return !!actor && RANK[actor.role] >= RANK[NEEDS[action]];
}

/**
 * Route handlers get no CSRF protection from Next. A state-changing request must be JSON,
 * carry our custom header (a cross-site form cannot set it), and come from our own origin:
 * a foreign Origin, or Origin "null" (sandboxed iframes), or a cross-site Sec-Fetch-Site fails.
 * The origin is compared with the Host (X-Forwarded-Host only from a trusted proxy).
 */
export function checkCsrf(req: Request, auth: AuthConfig = serverConfig().auth): void {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new HttpError(415, "bad_request", "state-changing requests must be application/json");
  }
  if (req.headers.get("x-lockdeck-csrf") !== "1") throw new HttpError(403, "csrf", "missing x-lockdeck-csrf header");
  const site = req.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") throw new HttpError(403, "csrf", `cross-site request (${site})`);
  const origin = req.headers.get("origin");
  if (origin !== null) {
    const host = requestHost(req, peerOf(req, auth));
    let originHost: string | null = null;
    try {
      originHost = origin === "null" ? null : new URL(origin).host;
    } catch {
      originHost = null;
    }
    if (!originHost || originHost !== host) throw new HttpError(403, "csrf", `origin ${origin.slice(0, 200)} is not this site`);
  }
}
