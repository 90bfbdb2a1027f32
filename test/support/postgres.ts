// Test rig: a throwaway PostgreSQL cluster on loopback (Debian's postgresql: initdb/postgres
// on PATH or under /usr/lib/postgresql/<v>/bin), in a temp dir, on a free port. As root it
// runs the server as the "postgres" user (the server refuses root). Used by the history tests
// only; returns null when no PostgreSQL binaries are installed, so callers can say so.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "../../scripts/servers/ports";

export interface PgRig {
  url: string;
  stop(): Promise<void>;
  /** Stops the server, keeping its data (fault tests), and start() brings it back on the same port. */
  pause(): Promise<void>;
  start(): Promise<void>;
}

function bin(name: string): string | null {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  for (const v of readdirSync(root).sort().reverse()) if (existsSync(path.join(root, v, "bin", name))) return path.join(root, v, "bin", name);
  return null;
}

export async function startPostgres(): Promise<PgRig | null> {
  const initdb = bin("initdb");
  const postgres = bin("postgres");
  if (!initdb || !postgres) return null;
  const root = process.getuid?.() === 0;
  const asPg = (cmd: string, args: string[]): [string, string[]] => (root ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args]);
  const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-pg-"));
  const data = path.join(dir, "data");
  if (root) {
    const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const [c, a] = asPg(initdb, ["-D", data, "-U", "lockdeck", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const init = spawnSync(c, a, { encoding: "utf8" });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const url = `postgres://lockdeck@127.0.0.1:${port}/postgres`;
  let proc: ChildProcess | null = null;

  const start = async () => {
    const [cmd, args] = asPg(postgres, ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
    proc = spawn(cmd, args, { stdio: "ignore", detached: true });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw new Error("postgres did not accept connections within 20 s");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const pause = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    // The whole process group (runuser does not forward signals); SIGINT = fast shutdown.
    process.kill(-p.pid!, "SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    proc = null;
  };
  await start();
  return {
    url,
    start,
    pause,
    async stop() {
      await pause();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
