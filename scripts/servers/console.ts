// A real LockDeck console as the deploy kit runs it — the standalone build's copy of the server
// wrapper (.next/standalone/scripts/start.mjs; `npx next build`, then scripts/standalone.mjs) —
// for tests that must crash it, restart it, shut it down, skew its clock, put faults between it
// and its stores, or run several replicas: its own config, data dir and free loopback port.
//
// Contract: resolves once GET /api/health answers 200 (readiness is the test's to wait for).
// kill9() is SIGKILL (no shutdown hooks run, like a crash); signal() sends SIGTERM/SIGINT and
// exited() says how it ended; restart() starts it again on the same port and data dir.

import { chownSync, existsSync } from "node:fs";
import path from "node:path";
import { freePort } from "./ports";
import { makeTempDir, startProcess, type ServerProcess } from "./process";
import { ensureDir } from "./cleanup";

const ROOT = path.resolve(__dirname, "../..");
export const STANDALONE_START = path.join(ROOT, ".next", "standalone", "scripts", "start.mjs");

export interface ConsoleOptions {
  /** lockdeck.config.json content (dataDir is set from `dataDir`). */
  config: Record<string, unknown>;
  /** Kept across restart(); default: a fresh temp dir. */
  dataDir?: string;
  /** Extra environment (LD_PRELOAD for faketime, LOCKDECK_OPERATOR, LOCKDECK_SESSION_SECRET, …). */
  env?: Record<string, string>;
  /** For the log file and messages (several replicas). */
  name?: string;
  /**
   * Run as this unprivileged uid (as root only), as the deploy kit's image does: the app files
   * stay root's, so the server must run without writing anywhere but its data dir.
   */
  uid?: number;
}

export interface Console {
  url: string;
  port: number;
  dataDir: string;
  logFile: string;
  pid(): number;
  running(): boolean;
  /** How the current process ended ("code 0", "signal SIGKILL"). */
  exited(): Promise<string>;
  signal(sig: "SIGTERM" | "SIGINT"): void;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startConsole(o: ConsoleOptions): Promise<Console> {
  if (!existsSync(STANDALONE_START) || !existsSync(path.join(ROOT, ".next", "standalone", ".next", "static"))) {
    throw new Error("no complete standalone build: run `npx next build && node scripts/standalone.mjs` first");
  }
  const dir = makeTempDir(o.name ?? "console");
  const dataDir = o.dataDir ?? path.join(dir, "data");
  ensureDir(dataDir);
  if (o.uid !== undefined) chownSync(dataDir, o.uid, o.uid);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const launch = () =>
    startProcess({
      name: o.name ?? "lockdeck",
      ...(o.uid === undefined
        ? { command: process.execPath, args: [STANDALONE_START] }
        : { command: "/usr/bin/setpriv", args: [`--reuid=${o.uid}`, `--regid=${o.uid}`, "--clear-groups", "--", process.execPath, STANDALONE_START] }),
      dir,
      env: {
        HOST: "127.0.0.1",
        PORT: String(port),
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
    running: () => proc.running(),
    exited: () => proc.exited,
    signal: (sig) => process.kill(proc.pid, sig),
    kill9: () => proc.kill9(),
    async restart() {
      if (proc.running()) await proc.stop({ keepDir: true });
      proc = await launch();
    },
    // SIGTERM: the server ends its streams and exits within 10 s (SIGKILL after that).
    stop: () => proc.stop(),
  };
}
