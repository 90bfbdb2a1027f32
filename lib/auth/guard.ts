// Authorisation and CSRF checks, called inside every route handler (not in middleware:
// CVE-2025-29927 showed middleware can be skipped).
//   - users in config: a server-side session (lib/auth/session.ts, or PostgreSQL with several
//     replicas: lib/shared/sessions.ts) from /api/auth/login. A shared session is looked up
//     asynchronously, so handler() (lib/api/errors.ts) resolves each request's identity before
//     the route runs (resolveIdentity) and authorize() stays synchronous; a request nobody
//     resolved is not signed in (fail closed);
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
import type { SharedSessions } from "../shared/sessions";
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
  /**
   * Set when PostgreSQL is down and the session is vouched for only by this replica's last
   * check: viewing only (authorize refuses anything else with 503).
   */
  degraded?: string;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Action, Role> = { view: "viewer", release: "operator", settings: "admin" };

export interface AuthContext {
  auth: AuthConfig;
  sessions: Sessions | SharedSessions | null;
}

// Identities resolved by handler() for the request in progress (on globalThis: Next bundles
// route handlers separately, and every copy of this module must see the same map).
const g = globalThis as unknown as { __lockdeckIdentities?: WeakMap<Request, Actor | null> };
const resolved = (g.__lockdeckIdentities ??= new WeakMap());

function current(): AuthContext {
  const reg = registry();
  return { auth: reg.config.auth, sessions: reg.sessions };
}

/**
 * Works out who is asking (awaiting a shared session lookup if need be) and remembers it for
 * identify()/authorize() during this request. Never throws: PostgreSQL down is `degraded`.
 */
export async function resolveIdentity(req: Request, ctx: AuthContext = current()): Promise<Actor | null> {
  const s = ctx.sessions;
  const token = readCookie(req, SESSION_COOKIE);
  let session: { user: AuthConfig["users"][number]; degraded: string | null } | null = null;
  if (isShared(s) && token && authEnabled(ctx.auth)) session = await s.lookup(token, ctx.auth.users);
  const actor = whoIs(req, ctx, (users) => (isShared(s) ? (session?.user ?? null) : (s?.lookup(token, users) ?? null)));
  if (actor && actor.method === "session" && session?.degraded) actor.degraded = session.degraded;
  resolved.set(req, actor);
  return actor;
}

/** Who is asking, or null when nobody is signed in. */
export function identify(req: Request, ctx: AuthContext = current()): Actor | null {
  if (resolved.has(req)) return resolved.get(req)!;
  // Not resolved by handler(): file sessions can be read now; a shared one cannot (fail closed).
  const s = ctx.sessions;
  return whoIs(req, ctx, (users) => (s && !isShared(s) ? s.lookup(readCookie(req, SESSION_COOKIE), users) : null));
}

// By a marker, not instanceof: Next bundles route handlers separately, so a class can exist in
// several copies in one process (the registry is shared through globalThis).
function isShared(s: AuthContext["sessions"]): s is SharedSessions {
  return (s as { shared?: boolean } | null)?.shared === true;
}

function whoIs(req: Request, ctx: AuthContext, sessionUser: (users: AuthConfig["users"]) => AuthConfig["users"][number] | null): Actor | null {
  const { auth } = ctx;
  const peer = peerOf(req, auth);
  const where = { sourceIp: peer.client, userAgent: req.headers.get("user-agent")?.slice(0, 300) ?? undefined };
  if (!authEnabled(auth)) {
    const role = (process.env.LOCKDECK_ROLE as Role | undefined) ?? "admin";
    return { name: process.env.LOCKDECK_OPERATOR ?? "local-operator", role: RANK[role] === undefined ? "viewer" : role, method: "local", ...where };
  }
  // A session names a user; the role is read from config now, so a demotion applies at once.
  const user = sessionUser(auth.users);
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
  if (actor.degraded && action !== "view") {
    throw new HttpError(
      503,
      "shared_state_unavailable",
      `shared state (PostgreSQL) is unavailable (${actor.degraded}): your session can only view until it is back`,
    );
  }
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
  // The media type itself, parameters (charset) aside: "application/jsonfoo" is not JSON.
  const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
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
