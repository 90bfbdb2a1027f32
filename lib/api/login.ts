// Sign-in with a local user from config: rate-limited per source and name, audited either way.

import { z } from "zod";
import { randomUUID } from "node:crypto";
import type { Registry } from "../registry";
import { HttpError } from "./errors";
import { verifyPassword } from "../auth/password";
import { sessionCookie, signSession } from "../auth/session";

export const LoginBody = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) }).strict();

// Compared against when the user does not exist, so timing does not tell names apart.
const DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

export function login(reg: Registry, body: z.infer<typeof LoginBody>, req: Request): string {
  const ip = req.headers.get("x-forwarded-for")?.split(",")[0]?.trim() ?? "local";
  const audit = {
    action: "login" as const, requestId: randomUUID(), phase: "outcome" as const, actor: body.name, role: "",
    connection: "", key: "", format: "", fence: "", reason: "", mode: "", sourceIp: ip,
    userAgent: req.headers.get("user-agent") ?? undefined,
  };
  if (!reg.loginLimiter.take(`${ip}|${body.name}`)) {
    reg.audit.append({ ...audit, outcome: "rate_limited" });
    throw new HttpError(429, "rate_limited", "too many sign-in attempts: wait a minute");
  }
  const user = reg.config.auth.users.find((u) => u.name === body.name);
  const ok = verifyPassword(body.password, user?.passwordHash ?? DUMMY) && !!user;
  if (!ok || !user) {
    reg.audit.append({ ...audit, outcome: "denied" });
    throw new HttpError(401, "unauthenticated", "wrong name or password");
  }
  reg.audit.append({ ...audit, role: user.role, outcome: "applied" });
  const seconds = Math.round(reg.config.auth.sessionHours * 3600);
  const secure = new URL(req.url).protocol === "https:" || req.headers.get("x-forwarded-proto") === "https";
  return sessionCookie(signSession({ u: user.name, r: user.role, exp: Date.now() + seconds * 1000 }), seconds, secure);
}
