// The e2e rig for access control: a Redis that needs a password, and a console config with
// users, roles and tight rate limits. The Redis password and the session key carry a marker
// string that must never reach a browser, a bundle, an error page or a log line.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRedis } from "./redis";
import type { E2EStore } from "./e2e-store";
import { hashPassword } from "../../lib/auth/password";

export const SECRET_MARKER = "LDK-SECRET-MARKER-c0ffee-5ca1ab1e";

/** Also set while building (scripts/test-all.mjs), so a secret inlined at build time would show. */
export function secretEnv(): Record<string, string> {
  return { LOCKDECK_SESSION_SECRET: `${SECRET_MARKER}-session` };
}

export const E2E_USERS = { operator: ["ana", "ana-pass-1"], viewer: ["vic", "vic-pass-1"], operator2: ["bo", "bo-pass-1"] } as const;

export async function startSecure() {
  const redis = await startRedis({ password: SECRET_MARKER, notifyKeyspaceEvents: "KA" });
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), "lockdeck-secure-log-")), "server.log");
  const config = {
    connections: [
      { id: "vault", kind: "redis", label: "Redis with a password", url: `redis://127.0.0.1:${redis.port}`, password: SECRET_MARKER, notifications: "use" },
    ],
    auth: {
      users: [
        { name: E2E_USERS.operator[0], role: "operator", passwordHash: hashPassword(E2E_USERS.operator[1]) },
        { name: E2E_USERS.viewer[0], role: "viewer", passwordHash: hashPassword(E2E_USERS.viewer[1]) },
        { name: E2E_USERS.operator2[0], role: "operator", passwordHash: hashPassword(E2E_USERS.operator2[1]) },
      ],
      loginRateLimit: { max: 5, perSeconds: 60 },
      releaseRateLimit: { max: 3, perSeconds: 60 },
    },
  };
  const store: E2EStore = {
    connections: [],
    env: { E2E_SECURE_REDIS_URL: redis.url, E2E_SECURE_LOG: logFile, E2E_SECRET_MARKER: SECRET_MARKER },
    stop: () => redis.stop(),
  };
  return { config, store, logFile };
}
