// A real LockDeck console (`next start` of the finished build) for tests that must crash it,
// restart it, skew its clock or put faults between it and its stores: its own config, data
// dir and free loopback port. Needs `npx next build` first.
//
// Contract: resolves once GET /api/health answers 200. kill9() is SIGKILL (no shutdown hooks
// run, like a crash); restart() starts it again on the same port and data dir.

import { existsSync } from "node:fs";
import path from "node:path";
import { freePort } from "./ports";
import { makeTempDir, startProcess, type ServerProcess } from "./process";
import { ensureDir } from "./cleanup";

const ROOT = path.resolve(__dirname, "../..");

export interface ConsoleOptions {
  /** lockdeck.config.json content (dataDir is set from `dataDir`). */
  config: Record<string, unknown>;
  /** Kept across restart(); default: a fresh temp dir. */
  dataDir?: string;
  /** Extra environment (LD_PRELOAD for faketime, LOCKDECK_OPERATOR, …). */
  env?: Record<string, string>;
}

export interface Console {
  url: string;
  port: number;
  dataDir: string;
  logFile: string;
  pid(): number;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startConsole(o: ConsoleOptions): Promise<Console> {
  if (!existsSync(path.join(ROOT, ".next", "BUILD_ID"))) throw new Error("no production build: run `npx next build` first");
  const dir = makeTempDir("console");
  const dataDir = o.dataDir ?? path.join(dir, "data");
  ensureDir(dataDir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const launch = () =>
    startProcess({
      name: "lockdeck",
      command: process.execPath,
      args: [path.join(ROOT, "node_modules", "next", "dist", "bin", "next"), "start", ROOT, "-p", String(port), "-H", "127.0.0.1"],
      dir,
      env: {
        LOCKDECK_CONNECTIONS: JSON.stringify({ ...o.config, dataDir }),
        LOCKDECK_DATA_DIR: dataDir,
        NEXT_TELEMETRY_DISABLED: "1",
        ...o.env,
      },
      ready: async () => (await fetch(`${url}/api/health`)).ok,
      readyWhat: `GET ${url}/api/health -> 200`,
      readyTimeoutMs: 60_000,
    });
  let proc: ServerProcess = await launch();
  return {
    url,
    port,
    dataDir,
    logFile: proc.logFile,
    pid: () => proc.pid,
    kill9: () => proc.kill9(),
    async restart() {
      if (proc.running()) await proc.stop({ keepDir: true });
      proc = await launch();
    },
    // A test console holds nothing worth a graceful shutdown (SSE streams keep next waiting).
    stop: () => proc.stop({ timeoutMs: 2_000 }),
  };
}
