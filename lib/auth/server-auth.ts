// The auth part of this process's config, for proxy.ts: the Host check runs before every
// request and needs nothing else, so it does not load the whole config's schema (every store's,
// lib/stores) for it. Once lib/config.ts has loaded the config, its auth part is this.

import { AuthSchema, type AuthConfig } from "./config";
import { ConfigError, firstIssue, readConfigJson } from "../config-source";

const g = globalThis as unknown as { __lockdeckConfig?: { auth: AuthConfig }; __lockdeckAuth?: AuthConfig };

export function serverAuth(): AuthConfig {
  if (g.__lockdeckConfig) return g.__lockdeckConfig.auth;
  if (!g.__lockdeckAuth) {
    const { source, json } = readConfigJson(process.env, {});
    const parsed = AuthSchema.default({}).safeParse((json as { auth?: unknown } | null)?.auth);
    if (!parsed.success) throw new ConfigError(`config error (${source}): auth.${firstIssue(parsed.error)}`);
    g.__lockdeckAuth = parsed.data;
  }
  return g.__lockdeckAuth;
}
