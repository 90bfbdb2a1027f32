#!/usr/bin/env node
// `npm run demo`: the product on a fresh machine. Installs npm packages if needed, builds once,
// and serves the console on http://localhost:3000 (`npm start`, loopback only: no sign-in)
// with the embedded in-process lock store and its workload generator.
//
//   npm run demo                       embedded demo store
//   npm run demo -- --target redis://127.0.0.1:6379
//                                      also run the workload against a real Redis, the way
//                                      node-redlock and python-redis-lock write their locks
//   npm run demo -- --port 3100

import { spawnSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = opt("--port") ?? process.env.PORT ?? "3000";
const target = opt("--target");
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1" };

function step(what, cmd, cmdArgs) {
  console.log(`demo: ${what}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: "inherit", env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync("node_modules/.package-lock.json")) step("installing npm packages", "npm", ["install", "--no-audit", "--no-fund"]);
if (!existsSync(".next/BUILD_ID")) step("building (first run only)", "npx", ["next", "build"]);

const connections = [{ id: "demo", kind: "memory", label: "Embedded demo store", workload: true }];
if (target) {
  if (!/^rediss?:\/\//.test(target)) {
    console.error("demo: --target takes a redis:// URL");
    process.exit(2);
  }
  connections.push({
    id: "redis",
    kind: "redis",
    label: `Redis ${new URL(target).host}`,
    url: target,
    demoWorkload: true,
    notifications: "enable",
    patterns: ["*"],
  });
}
if (!env.LOCKDECK_CONNECTIONS && !env.LOCKDECK_CONFIG) env.LOCKDECK_CONNECTIONS = JSON.stringify(connections);

console.log(`demo: LockDeck on http://localhost:${port}`);
const server = spawn("node", ["scripts/start.mjs"], { stdio: "inherit", env: { ...env, HOST: "127.0.0.1", PORT: port } });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => server.kill(sig));
server.on("exit", (code) => process.exit(code ?? 0));
