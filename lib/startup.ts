// Server start: load and check the config (a bad one stops start-up with one line naming the
// field), then open every connection so hubs are warm before the first page.

import { registry } from "./registry";

try {
  const r = registry();
  const names = r.list().map((c) => `${c.id} (${c.kind})`).join(", ");
  console.log(`lockdeck: connections: ${names}; audit trail: ${r.audit.file}`);
} catch (err) {
  if (err instanceof Error && err.name === "ConfigError") {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
