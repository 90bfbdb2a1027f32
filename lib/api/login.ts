// Sign-in with a local user from config, and sign-out. Rate-limited per (client address, name)
// and per name; the address is the socket peer, or what a trusted proxy saw (lib/auth/peer.ts),
// never a header a client chose. Audited either way.

import { z } from "zod";
import { randomUUID } from "node:crypto";
import type { Registry } from "../registry";
import { HttpError } from "./errors";
import { verifyPassword } from "../auth/password";
import { SESSION_COOKIE, readCookie, sessionCookie } from "../auth/session";
import { peerOf } from "../auth/peer";
import { SCRYPT_PARAMS } from "../auth/scrypt.mjs";

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

function isHttps(req: Request, trusted: boolean): boolean {
  return new URL(req.url).protocol === "https:" || (trusted && req.headers.get("x-forwarded-proto") === "https");
}

/** Checks the password and opens a session; answers the Set-Cookie header. */
export async function login(reg: Registry, body: z.infer<typeof LoginBody>, req: Request): Promise<string> {
  const auth = reg.config.auth;
  const peer = peerOf(req, auth);
  const ip = peer.client ?? "unknown";
  const audit = auditBase(req, body.name, "login", peer.client);
  // Per address first: attempts it already refuses do not count against the name, so one
  // client cannot lock a user out alone.
  if (!(await reg.loginLimiter.take(`${ip}|${body.name}`))) {
    reg.audit.append({ ...audit, outcome: "rate_limited", detail: `too many attempts from ${ip} for this name` });
    throw new HttpError(429, "rate_limited", "too many sign-in attempts: wait a minute");
  }
  if (!(await reg.loginNameLimiter.take(body.name))) {
    reg.audit.append({ ...audit, outcome: "rate_limited", detail: "too many attempts for this name from all addresses" });
    throw new HttpError(429, "rate_limited", "too many sign-in attempts for this name: wait a minute");
  }
  const user = auth.users.find((u) => u.name === body.name);
  const check = await verifyPassword(body.password, user?.passwordHash ?? DUMMY);
  if (!check.ok || !user) {
    reg.audit.append({ ...audit, outcome: "denied" });
    throw new HttpError(401, "unauthenticated", "wrong name or password");
  }
  const rehash = check.rehash ? `password hash is cheaper than N=2^${Math.log2(SCRYPT_PARAMS.N)}: rehash it with npm run hash-password` : undefined;
  reg.audit.append({ ...audit, role: user.role, outcome: "applied", detail: rehash });
  const seconds = Math.round(auth.sessionHours * 3600);
  const token = await reg.sessions.create(user, seconds * 1000);
  return sessionCookie(token, seconds, isHttps(req, peer.trusted));
}

/** Ends the session the cookie names (if any) and answers the Set-Cookie header that clears it. */
export async function logout(reg: Registry, req: Request, actor: string | null): Promise<string> {
  const auth = reg.config.auth;
  const peer = peerOf(req, auth);
  const ended = await reg.sessions.revoke(readCookie(req, SESSION_COOKIE));
  const who = ended?.user ?? actor ?? "(nobody signed in)";
  reg.audit.append({ ...auditBase(req, who, "logout", peer.client), outcome: ended ? "applied" : "no_session", detail: ended ? "session revoked" : undefined });
  return sessionCookie("", 0, isHttps(req, peer.trusted));
}
