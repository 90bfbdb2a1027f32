// Sign-in with a local user from config, and sign-out. Sign-in is rate-limited per client
// address whatever the name (checked first, before any password check), per (client address,
// name) and per name; the address is the socket peer, or what a trusted proxy saw
// (lib/auth/peer.ts), never a header a client chose. Each password check takes a place in the
// scrypt queue from its address's share (lib/auth/password.ts). Every checked attempt is
// audited; refusals before a check (rate-limited, busy) once per client address (and name)
// and window, so a flood cannot grow the trail without bound. A sign-out is audited when it
// ends a session or a known person asks; an anonymous one with no session leaves no line.

import { z } from "zod";
import { randomUUID } from "node:crypto";
import type { Registry } from "../registry";
import { HttpError } from "./errors";
import { BusyError, verifyPassword } from "../auth/password";
import { SESSION_COOKIE, readCookie, sessionCookie } from "../auth/session";
import { peerOf } from "../auth/peer";
import { SCRYPT_PARAMS } from "../auth/scrypt.mjs";
import { RateLimiter, RefusalAudit, clientKey } from "../auth/ratelimit";
import { SharedRateLimiter } from "../shared/ratelimit";

export const LoginBody = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) }).strict();

// Compared against when the user does not exist, so timing does not tell names apart.
const DUMMY = `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

function auditBase(req: Request, actor: string, action: "login" | "logout", sourceIp: string | undefined) {
  return {
    action,
    requestId: randomUUID(),
    phase: "outcome" as const,
    actor,
    role: "",
    connection: "",
    key: "",
    format: "",
    fence: "",
    reason: "",
    mode: "",
    sourceIp,
    userAgent: req.headers.get("user-agent")?.slice(0, 300) ?? undefined,
  };
}

/**
 * Whether the browser reached us over https, as far as the server can vouch: only a trusted
 * proxy's X-Forwarded-Proto says so. Not the request URL's scheme: under a bare `next start` Next
 * builds it from X-Forwarded-Proto, whoever sent it. scripts/start.mjs serves plain HTTP (its
 * socket is never TLS) and strips the header from everyone but trusted proxies.
 */
function isHttps(req: Request, trusted: boolean): boolean {
  return trusted && req.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}

interface Guards {
  /** Sign-in attempts per client address (an IPv6 one by its /64), whatever the name. */
  perAddress: Pick<RateLimiter, "take"> | SharedRateLimiter;
  refusals: RefusalAudit;
}
const guardsOf = new WeakMap<Registry, Guards>();

function guards(reg: Registry): Guards {
  let g = guardsOf.get(reg);
  if (!g) {
    const { max, perSeconds, maxPerAddress } = reg.config.auth.loginRateLimit;
    const perAddress = maxPerAddress ?? max * 10;
    g = {
      perAddress: reg.shared
        ? new SharedRateLimiter(reg.shared, "login-address", perAddress, perSeconds * 1000)
        : new RateLimiter(perAddress, perSeconds * 1000),
      refusals: new RefusalAudit(perSeconds * 1000),
    };
    guardsOf.set(reg, g);
  }
  return g;
}

/** Checks the password and opens a session; answers the Set-Cookie header. */
export async function login(reg: Registry, body: z.infer<typeof LoginBody>, req: Request): Promise<string> {
  const auth = reg.config.auth;
  const peer = peerOf(req, auth);
  const ip = peer.client ?? "unknown";
  const audit = auditBase(req, body.name, "login", peer.client);
  const g = guards(reg);
  const window = `${auth.loginRateLimit.perSeconds} s`;
  /** A refusal before any password check: one line per key and window, counting those it stands for. */
  const refused = (key: string, outcome: "rate_limited" | "refused", detail: string) => {
    const n = g.refusals.note(key);
    if (n.write) {
      const more = n.unwritten ? `; ${n.unwritten} more like it after the last such line` : "";
      reg.audit.append({ ...audit, outcome, detail: `${detail} (one line per ${window}${more})` });
    }
  };
  // Per address across names first, before anything costs a password check: random names
  // from one client are limited too. Attempts it refuses count against no name.
  const who = clientKey(ip);
  // With PostgreSQL down the shared limits cannot be counted: refused (503), one line per window.
  const take = async (limit: () => boolean | Promise<boolean>) => {
    try {
      return await limit();
    } catch (err) {
      if ((err as { code?: string }).code === "shared_state_unavailable") refused(`shared|${who}`, "refused", `not checked: ${(err as Error).message}`);
      throw err;
    }
  };
  if (!(await take(() => g.perAddress.take(who)))) {
    refused(`address|${who}`, "rate_limited", `too many attempts from ${ip} across names`);
    throw new HttpError(429, "rate_limited", "too many sign-in attempts from your address: wait a minute");
  }
  // Per (address, name): attempts it already refuses do not count against the name, so one
  // client cannot lock a user out alone.
  if (!(await take(() => reg.loginLimiter.take(`${ip}|${body.name}`)))) {
    refused(`address-name|${ip}|${body.name}`, "rate_limited", `too many attempts from ${ip} for this name`);
    throw new HttpError(429, "rate_limited", "too many sign-in attempts: wait a minute");
  }
  if (!(await take(() => reg.loginNameLimiter.take(body.name)))) {
    refused(`name|${who}|${body.name}`, "rate_limited", "too many attempts for this name from all addresses");
    throw new HttpError(429, "rate_limited", "too many sign-in attempts for this name: wait a minute");
  }
  const user = auth.users.find((u) => u.name === body.name);
  let check: { ok: boolean; rehash: boolean };
  try {
    // A name that does not exist is checked against a dummy hash of the same cost, in the
    // same share of the queue: it uses only its own address's places.
    check = await verifyPassword(body.password, user?.passwordHash ?? DUMMY, ip);
  } catch (err) {
    if (err instanceof BusyError)
      refused(`busy|${who}`, "refused", err.reason === "client" ? `busy: too many sign-ins from ${ip} at once` : "busy: too many sign-ins at once");
    throw err;
  }
  if (!check.ok || !user) {
    reg.audit.append({ ...audit, outcome: "denied" });
    throw new HttpError(401, "unauthenticated", "wrong name or password");
  }
  const rehash = check.rehash ? `password hash is cheaper than N=2^${Math.log2(SCRYPT_PARAMS.N)}: rehash it with npm run hash-password` : undefined;
  const seconds = Math.round(auth.sessionHours * 3600);
  // The session first, then "applied": a session that could not be made (PostgreSQL down)
  // must not read as a sign-in in the trail. A line that cannot be written ends the session.
  let token: string;
  try {
    token = await reg.sessions.create(user, seconds * 1000);
  } catch (err) {
    reg.audit.append({ ...audit, role: user.role, outcome: "refused", detail: `no session was made: ${(err as Error).message}` });
    throw err;
  }
  try {
    reg.audit.append({ ...audit, role: user.role, outcome: "applied", detail: rehash });
  } catch (err) {
    await Promise.resolve()
      .then(() => reg.sessions.revoke(token))
      .catch(() => undefined);
    throw err;
  }
  return sessionCookie(token, seconds, isHttps(req, peer.trusted));
}

/** Ends the session the cookie names (if any) and answers the Set-Cookie header that clears it; audited when someone is known. */
export async function logout(reg: Registry, req: Request, actor: string | null): Promise<string> {
  const auth = reg.config.auth;
  const peer = peerOf(req, auth);
  let ended: Awaited<ReturnType<Registry["sessions"]["revoke"]>>;
  try {
    ended = await reg.sessions.revoke(readCookie(req, SESSION_COOKIE));
  } catch (err) {
    // Not ended (PostgreSQL down: the session stays valid): a known person's attempt is audited.
    if (actor)
      reg.audit.append({ ...auditBase(req, actor, "logout", peer.client), outcome: "refused", detail: `the session was not ended: ${(err as Error).message}` });
    throw err;
  }
  // The trail is of known people's actions: a sign-out that ends nobody's session, asked by
  // nobody known, is answered (the cookie cleared) but leaves no line.
  const who = ended?.user ?? actor;
  if (who)
    reg.audit.append({
      ...auditBase(req, who, "logout", peer.client),
      outcome: ended ? "applied" : "no_session",
      detail: ended ? "session revoked" : undefined,
    });
  return sessionCookie("", 0, isHttps(req, peer.trusted));
}
