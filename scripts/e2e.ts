// Runs the Playwright suite against the real product: starts every store rig
// (scripts/servers/e2e-<kind>.ts: real servers on free ports), the self-contained server the
// deploy kit ships (.next/standalone, completed by scripts/standalone.mjs, served by its copy of
// scripts/start.mjs) on another port with a config holding the embedded demo and those stores,
// waits until it answers, runs the specs, and stops everything. Needs a finished `next build`.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, openSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { E2EStore } from "./servers/e2e-store";
import { secretEnv, startSecure } from "./servers/e2e-secure";
import { STANDALONE_START } from "./servers/console";
import { freePort } from "./servers/ports";
import { waitFor } from "./servers/process";

async function main(): Promise<number> {
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(chromium)) throw new Error(`${chromium} not found: install it with \`apt-get install -y chromium\``);
  if (!existsSync(".next/BUILD_ID")) throw new Error("no production build: run `npx next build` first");
  if (spawnSync(process.execPath, ["scripts/standalone.mjs"], { stdio: "inherit" }).status !== 0) throw new Error("could not complete the standalone output");

  const stores: E2EStore[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), "lockdeck-e2e-"));
  const servers: ChildProcess[] = [];
  try {
    const rigs = readdirSync(path.join(__dirname, "servers"))
      .filter((f) => /^e2e-(?!store|secure).*\.ts$/.test(f))
      .sort();
    for (const rig of rigs) {
      const mod = (await import(`./servers/${rig}`)) as { start(): Promise<E2EStore> };
      stores.push(await mod.start());
    }
    const connections = [{ id: "demo", kind: "memory", label: "Embedded demo store", workload: true, seed: 7 }, ...stores.flatMap((s) => s.connections)];
    const open = await startServer({ connections }, path.join(dataDir, "open"), servers, { logFile: path.join(dataDir, "open.log"), echo: true });
    // A second console with sign-in and a trusted proxy, for the access-control specs (scripts/servers/e2e-secure.ts).
    const secure = await startSecure();
    stores.push(secure.store);
    const secured = await startServer(secure.config, path.join(dataDir, "secure"), servers, { logFile: secure.logFile });
    // A bare `next start` (not `npm start`): the Host allow-list must hold there too, and with no
    // socket peer known, proxy headers must count for nothing.
    const bare = await startServer(secure.bareConfig, path.join(dataDir, "bare"), servers, { logFile: path.join(dataDir, "bare.log"), bare: true });
    const code = await run("npx", ["playwright", "test", ...process.argv.slice(2)], {
      ...process.env,
      E2E_BASE_URL: open,
      E2E_OPEN_LOG: path.join(dataDir, "open.log"),
      E2E_SECURE_URL: secured,
      E2E_BARE_URL: bare,
      E2E_BARE_LOG: path.join(dataDir, "bare.log"),
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

/**
 * The product as the deploy kit runs it (.next/standalone/scripts/start.mjs, the same wrapper
 * as `npm start`) on a free loopback port with this config, or (bare) a plain `next start`;
 * answers its base URL once healthy. The server's
 * output goes to logFile (specs read it), and also to this terminal when echo is set.
 */
async function startServer(config: object, dataDir: string, servers: ChildProcess[], o: { logFile: string; bare?: boolean; echo?: boolean }): Promise<string> {
  const port = await freePort();
  const log = openSync(o.logFile, "a");
  const [bin, args] = o.bare ? ["npx", ["next", "start", "-p", String(port), "-H", "127.0.0.1"]] : [process.execPath, [STANDALONE_START]];
  const server = spawn(bin as string, args as string[], {
    env: {
      ...process.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      LOCKDECK_CONNECTIONS: JSON.stringify(config),
      LOCKDECK_DATA_DIR: dataDir,
      NEXT_TELEMETRY_DISABLED: "1",
      ...secretEnv(),
    },
    stdio: ["ignore", o.echo ? "pipe" : log, o.echo ? "pipe" : log],
    detached: true,
  });
  if (o.echo) {
    const sink = createWriteStream("", { fd: log });
    for (const stream of [server.stdout!, server.stderr!]) {
      stream.pipe(sink, { end: false });
      stream.pipe(process.stderr, { end: false });
    }
  }
  servers.push(server);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/api/health`)).ok, { timeoutMs: 60_000, what: `${o.bare ? "next start" : "npm start"} to answer` });
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
