#!/usr/bin/env node
// `npm start`: serve a built LockDeck. Without users or a trusted proxy in the config there is
// no sign-in, so the console listens on loopback only; binding elsewhere then is refused.
//   HOST=0.0.0.0 PORT=3000 npm start     (needs auth.users or auth.proxy in the config)

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

function rawConfig() {
  try {
    if (process.env.LOCKDECK_CONNECTIONS) return JSON.parse(process.env.LOCKDECK_CONNECTIONS);
    const file = process.env.LOCKDECK_CONFIG ?? "lockdeck.config.json";
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    // The server's own config check reports the error with the field's name.
  }
  return {};
}

const cfg = rawConfig();
const auth = Array.isArray(cfg) ? undefined : cfg.auth;
const signIn = (auth?.users?.length ?? 0) > 0 || auth?.proxy?.enabled === true;
const loopback = ["127.0.0.1", "::1", "localhost"];
const host = process.env.HOST ?? (signIn ? "0.0.0.0" : "127.0.0.1");
if (!signIn && !loopback.includes(host)) {
  console.error(`lockdeck: no users and no trusted proxy are configured, so LockDeck only listens on loopback; refusing HOST=${host}`);
  process.exit(2);
}
if (!signIn) console.log("lockdeck: no users configured: listening on loopback only (127.0.0.1)");
const server = spawn("npx", ["next", "start", "-H", host, "-p", process.env.PORT ?? "3000"], {
  stdio: "inherit",
  env: { NEXT_TELEMETRY_DISABLED: "1", ...process.env },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.kill(sig));
server.on("exit", (code) => process.exit(code ?? 0));
