// Server start: load and check the config (a bad one stops start-up with one line naming the
// field), then open every connection so hubs are warm before the first page.

import { registry } from "./registry";

try {
  const r = registry();
  const names = r.list().map((c) => `${c.id} (${c.kind})`).join(", ");
  console.log(`lockdeck: connections: ${names}; audit trail: ${r.audit.file}`);
  const { users, proxy } = r.config.auth;
  if (users.length === 0 && !proxy.enabled) {
    console.log("lockdeck: no users configured: one local operator, no sign-in; serve on loopback only (npm start does)");
  } else if (!process.env.LOCKDECK_SESSION_SECRET) {
    console.log("lockdeck: LOCKDECK_SESSION_SECRET is not set: sessions are signed with a per-process key and end at restart");
  }
} catch (err) {
  if (err instanceof Error && err.name === "ConfigError") {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
