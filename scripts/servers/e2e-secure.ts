// The e2e rig for access control: a Redis that needs a password, and a console config with
// users, roles, a trusted proxy (127.0.0.2: specs connect from that source address to play the
// proxy, and from 127.0.0.1 to play anyone else), allowed hosts and tight rate limits. The Redis
// password and the session key carry a marker string that must never reach a browser, a
// bundle, an error page or a log line.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRedis } from "./redis";
import type { E2EStore } from "./e2e-store";
import { hashPassword } from "../../lib/auth/scrypt.mjs";

export const SECRET_MARKER = "LDK-SECRET-MARKER-c0ffee-5ca1ab1e";

/** Also set while building (scripts/test-all.mjs), so a secret inlined at build time would show. */
export function secretEnv(): Record<string, string> {
  return { LOCKDECK_SESSION_SECRET: `${SECRET_MARKER}-session` };
}

export const E2E_USERS = {
  operator: ["ana", "ana-pass-1"],
  viewer: ["vic", "vic-pass-1"],
  operator2: ["bo", "bo-pass-1"],
  victim: ["zed", "zed-pass-1"],
} as const;

/** The source address specs use to act as the trusted proxy. */
export const E2E_PROXY_ADDRESS = "127.0.0.2";

export async function startSecure() {
  const redis = await startRedis({ password: SECRET_MARKER, notifyKeyspaceEvents: "KA" });
  const logFile = path.join(mkdtempSync(path.join(tmpdir(), "lockdeck-secure-log-")), "server.log");
  const users = await Promise.all(
    [
      [E2E_USERS.operator, "operator"],
      [E2E_USERS.viewer, "viewer"],
      [E2E_USERS.operator2, "operator"],
      [E2E_USERS.victim, "viewer"],
    ].map(async ([[name, password], role]) => ({ name, role, passwordHash: await hashPassword(password) })),
  );
  const auth = {
    users,
    proxy: { enabled: true, trustedProxies: [`${E2E_PROXY_ADDRESS}/32`], operatorGroups: ["oncall"], adminGroups: ["platform"] },
    allowedHosts: ["127.0.0.1", "localhost"],
    loginRateLimit: { max: 5, perSeconds: 60, maxPerName: 8 },
    releaseRateLimit: { max: 3, perSeconds: 60 },
  };
  const config = {
    connections: [
      { id: "vault", kind: "redis", label: "Redis with a password", url: `redis://127.0.0.1:${redis.port}`, password: SECRET_MARKER, notifications: "use" },
    ],
    auth,
  };
  // The same access control under a bare `next start`, on one in-process store.
  const bareConfig = { connections: [{ id: "demo", kind: "memory", workload: true, seed: 3 }], auth };
  const store: E2EStore = {
    connections: [],
    env: { E2E_SECURE_REDIS_URL: redis.url, E2E_SECURE_LOG: logFile, E2E_SECRET_MARKER: SECRET_MARKER, E2E_PROXY_ADDRESS },
    stop: () => redis.stop(),
  };
  return { config, bareConfig, store, logFile };
}
