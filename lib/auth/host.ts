// The Host allow-list (DNS rebinding): a request whose Host header this console does not
// serve gets 421 and a log line, on pages (proxy.ts) and in every route handler (lib/api/
// errors.ts handler()), so `next start`, `next dev` and `npm start` all enforce it; `npm
// start` also checks before Next sees the request. Without sign-in only loopback names are
// answered; with sign-in, auth.allowedHosts (default any).

import type { AuthConfig } from "./config";
import { hostAllowed, hostPolicy } from "./net.mjs";

const LOG_EVERY_MS = 60_000;
const g = globalThis as unknown as { __lockdeckHostLog?: Map<string, { at: number; count: number }> };

/** The refusal message for a Host header this console does not serve; null when it is served. */
export function hostProblem(host: string | null, auth: AuthConfig): string | null {
  const allowed = hostPolicy(auth);
  if (hostAllowed(host, allowed)) return null;
  const why = auth.users.length === 0 && !auth.proxy.enabled ? "without sign-in only loopback names are answered" : "auth.allowedHosts";
  return `host: ${JSON.stringify((host ?? "").slice(0, 100))} is not served here (allowed: ${(allowed ?? []).join(", ")}; ${why})`;
}

/** One log line per refused host a minute (a rebinding page retries; the log must not flood). */
export function logRefusedHost(host: string | null, method: string, path: string, from = "unknown peer"): void {
  const log = (g.__lockdeckHostLog ??= new Map());
  const key = (host ?? "").slice(0, 100);
  const now = Date.now();
  const seen = log.get(key);
  if (seen && now - seen.at < LOG_EVERY_MS) {
    seen.count++;
    return;
  }
  const more = seen && seen.count > 0 ? ` (${seen.count} more since the last line)` : "";
  log.set(key, { at: now, count: 0 });
  if (log.size > 1_000) log.clear();
  console.warn(`lockdeck: refused ${method} ${path.slice(0, 200)} for Host ${JSON.stringify(key)} from ${from}: not an allowed host (421)${more}`);
}

export function misdirected(message: string): Response {
  return Response.json({ error: { code: "misdirected", message } }, { status: 421, headers: { "cache-control": "no-store" } });
}
