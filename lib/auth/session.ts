// Signed session cookies: base64url(JSON {u, r, exp}) + "." + HMAC-SHA256. HttpOnly,
// SameSite=Strict (a cross-site request never carries it), Secure behind https.
// The key comes from LOCKDECK_SESSION_SECRET; without it a random one per process is used
// (sessions end when the server restarts; start-up says so).

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Role } from "./config";

export const SESSION_COOKIE = "lockdeck_session";

export interface Session {
  u: string;
  r: Role;
  exp: number;
}

const g = globalThis as unknown as { __lockdeckSessionKey?: Buffer };

function key(): Buffer {
  const secret = process.env.LOCKDECK_SESSION_SECRET;
  if (secret) return Buffer.from(secret, "utf8");
  g.__lockdeckSessionKey ??= randomBytes(32);
  return g.__lockdeckSessionKey;
}

function mac(body: string): Buffer {
  return createHmac("sha256", key()).update(body).digest();
}

export function signSession(s: Session): string {
  const body = Buffer.from(JSON.stringify(s)).toString("base64url");
  return `${body}.${mac(body).toString("base64url")}`;
}

export function verifySession(token: string | undefined, now = Date.now()): Session | null {
  if (!token) return null;
  const [body, sig] = token.split(".");
  if (!body || !sig) return null;
  const given = Buffer.from(sig, "base64url");
  const want = mac(body);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  try {
    const s = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Session;
    return typeof s.u === "string" && typeof s.exp === "number" && s.exp > now ? s : null;
  } catch {
    return null;
  }
}

export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.get("cookie") ?? "";
  for (const part of header.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}
