// Runs the Playwright suite against the real product: starts every store rig
// (scripts/servers/e2e-<kind>.ts: real servers on free ports), `next start` on another port
// with a config holding the embedded demo and those stores, waits until it answers, runs the
// specs, and stops everything. Needs a finished `next build`.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { E2EStore } from "./servers/e2e-store";
import { secretEnv, startSecure } from "./servers/e2e-secure";
import { freePort } from "./servers/ports";
import { waitFor } from "./servers/process";

async function main(): Promise<number> {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) throw new Error(`${chromium} not found: install it with \`apt-get install -y chromium\``);
  if (!existsSync(".next/BUILD_ID")) throw new Error("no production build: run `npx next build` first");

  const stores: E2EStore[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), "lockdeck-e2e-"));
  const servers: ChildProcess[] = [];
  try {
    const rigs = readdirSync(path.join(__dirname, "servers")).filter((f) => /^e2e-(?!store|secure).*\.ts$/.test(f)).sort();
    for (const rig of rigs) {
      const mod = (await import(`./servers/${rig}`)) as { start(): Promise<E2EStore> };
      stores.push(await mod.start());
    }
    const connections = [
      { id: "demo", kind: "memory", label: "Embedded demo store", workload: true, seed: 7 },
      ...stores.flatMap((s) => s.connections),
    ];
    const open = await startServer({ connections }, path.join(dataDir, "open"), servers);
    // A second console with sign-in, for the access-control specs (scripts/servers/e2e-secure.ts).
    const secure = await startSecure();
    stores.push(secure.store);
    const secured = await startServer(secure.config, path.join(dataDir, "secure"), servers, secure.logFile);
    const code = await run("npx", ["playwright", "test", ...process.argv.slice(2)], {
      ...process.env,
      E2E_BASE_URL: open,
      E2E_SECURE_URL: secured,
      ...Object.assign({}, ...stores.map((s) => s.env)),
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1",
    });
    return code;
  } finally {
    for (const server of servers) {
      try {
        process.kill(-server.pid!, "SIGTERM");
      } catch {
        // already gone
      }
    }
    for (const s of stores) await s.stop().catch((err) => console.error(`e2e: stopping a store: ${err.message}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `next start` on a free loopback port with this config; answers its base URL once healthy. */
async function startServer(config: object, dataDir: string, servers: ChildProcess[], logFile?: string): Promise<string> {
  const port = await freePort();
  const log = logFile ? openSync(logFile, "a") : "inherit";
  const server = spawn("npx", ["next", "start", "-p", String(port), "-H", "127.0.0.1"], {
    env: { ...process.env, LOCKDECK_CONNECTIONS: JSON.stringify(config), LOCKDECK_DATA_DIR: dataDir, NEXT_TELEMETRY_DISABLED: "1", ...secretEnv() },
    stdio: ["ignore", log, log],
    detached: true,
  });
  servers.push(server);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/api/health`)).ok, { timeoutMs: 60_000, what: "next start to answer" });
  return base;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: "inherit" });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`e2e: ${(err as Error).message}`);
    process.exit(1);
  },
);
