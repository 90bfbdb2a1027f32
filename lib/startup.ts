// Server start: load and check the config and the server secret (a bad one stops start-up with
// one line naming the field), then open every connection so hubs are warm before the first
// page. Says how access is controlled, in one line each.

import { registry } from "./registry";
import { needsRehash } from "./auth/password";
import { peersKnown } from "./auth/peer";
import { installShutdown } from "./ops/shutdown";

try {
  const r = registry();
  installShutdown(r);
  const names = r
    .list()
    .map((c) => `${c.id} (${c.kind})`)
    .join(", ");
  console.log(`lockdeck: connections: ${names}; audit trail: ${r.audit.file}`);
  const { users, proxy, allowedHosts } = r.config.auth;
  console.log(`lockdeck: fences are signed with a key from ${r.secretSource}`);
  console.log(
    r.shared
      ? `lockdeck: shared state (sessions, rate limits, approvals, confirmation ids, audit trail, history, one reading replica per store) in PostgreSQL ${redactUrl(r.shared.opts.url)} (pool of ${r.shared.opts.poolMax})`
      : "lockdeck: no PostgreSQL configured: sessions, rate limits and approvals are this replica's own (one replica)",
  );
  if (users.length === 0 && !proxy.enabled) {
    console.log("lockdeck: no users configured: one local operator, no sign-in; only localhost, 127.0.0.1 and [::1] Host headers are answered");
  } else {
    console.log(
      `lockdeck: sign-in on (${[users.length ? `${users.length} users` : "", proxy.enabled ? `proxy from ${proxy.trustedProxies.join(", ")}` : ""].filter(Boolean).join(", ")}); hosts answered: ${allowedHosts?.join(", ") ?? "any"}`,
    );
  }
  for (const u of users) {
    if (needsRehash(u.passwordHash)) console.warn(`lockdeck: user ${u.name} has an old, cheaper password hash: make a new one with \`npm run hash-password\``);
  }
  if (!peersKnown()) {
    console.warn(
      proxy.enabled
        ? "lockdeck: not started by `npm start`: the socket peer is unknown, so proxy identity headers and X-Forwarded-For are IGNORED (nobody signs in through the proxy); serve with `npm start`"
        : "lockdeck: not started by `npm start`: client addresses are unknown (rate limits and the audit trail cannot tell clients apart); serve with `npm start`",
    );
  }
} catch (err) {
  if (err instanceof Error && err.name === "ConfigError") {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

/** host:port/database only: credentials never reach a log. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}
