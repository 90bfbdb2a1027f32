// Tracks spawned servers and their temp dirs so nothing outlives the test
// process, however it ends:
// - normal exit / process.exit(): the 'exit' hook SIGKILLs children, rm -rf dirs;
// - SIGTERM/SIGINT/SIGHUP with no other listener (vitest sends SIGTERM to its
//   forks, then SIGKILL 500 ms later): same cleanup, then the signal is
//   re-raised so the default "die by signal" still happens;
// - SIGKILL: children die through PDEATHSIG (see process.ts); the dirs are
//   left, and swept by the next process that makes a temp dir (each dir has
//   an `.owner` file with the pid that made it; dirs of dead pids are removed).
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isMainThread } from "node:worker_threads";

const PREFIX = "lockdeck-";
const OWNER = ".owner";

// Shared through globalThis so a module evaluated more than once (vitest
// isolation) still installs a single set of hooks.
type Registry = { children: Set<ChildProcess>; dirs: Set<string>; hooked: boolean };
const registry: Registry = ((globalThis as Record<string, unknown>).__lockdeckServers ??= {
  children: new Set(),
  dirs: new Set(),
  hooked: false,
}) as Registry;

function cleanupNow(): void {
  for (const child of registry.children) child.kill("SIGKILL");
  for (const dir of registry.dirs) fs.rmSync(dir, { recursive: true, force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sweepStaleDirs(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    try {
      const pid = Number(fs.readFileSync(path.join(dir, OWNER), "utf8"));
      if (pid > 0 && !pidAlive(pid)) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours, or being removed concurrently
    }
  }
}

function install(): void {
  if (registry.hooked) return;
  registry.hooked = true;
  process.on("exit", cleanupNow);
  if (!isMainThread) return; // signals are not delivered to worker threads
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    const onSignal = () => {
      // Someone else (e.g. cli.ts) handles this signal and will stop servers gracefully.
      if (process.listenerCount(sig) > 1) return;
      cleanupNow();
      process.off(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
  sweepStaleDirs();
}

export function trackChild(child: ChildProcess): void {
  install();
  registry.children.add(child);
}

export function untrackChild(child: ChildProcess): void {
  registry.children.delete(child);
}

/** A fresh dir `<tmpdir>/lockdeck-<prefix>-XXXXXX`, removed when this process ends. */
export function makeTempDir(prefix: string): string {
  install();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${prefix}-`));
  ensureDir(dir);
  return dir;
}

/** mkdir -p `dir` (e.g. to restart in a dir stop() removed) and track it like makeTempDir. */
export function ensureDir(dir: string): void {
  install();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, OWNER), String(process.pid));
  registry.dirs.add(dir);
}

/** rm -rf `dir` and stop tracking it. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  registry.dirs.delete(dir);
}
