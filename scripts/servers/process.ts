// Spawning and stopping test server processes.
//
// Contracts:
// - stdout/stderr go straight to `<dir>/<name>.log` (appended across restarts).
// - startProcess resolves only once `ready()` returned true; no fixed sleeps.
//   If the process exits first, or the deadline passes, it is SIGKILLed and the
//   thrown Error contains the last lines of the log.
// - Children never outlive this process: they are tracked (cleanup.ts), and
//   where util-linux `setpriv` exists they are spawned with PDEATHSIG=KILL, so
//   they die even if this process is SIGKILLed. (PDEATHSIG fires when the
//   spawning *thread* ends: in a worker thread, servers die with the worker.)
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { requireBinary } from "./binaries";
import { removeDir, trackChild, untrackChild } from "./cleanup";

export { ensureDir, makeTempDir, removeDir } from "./cleanup";

/** Last `n` lines of a log file ("" if it does not exist). */
export function logTail(file: string, n = 30): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "";
  }
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What we wait for, for the timeout message. */
  what: string;
  /** Gives up early, throwing signal.reason. */
  signal?: AbortSignal;
}

/** Polls `check` until it returns true; a throwing check counts as "not yet". */
export async function waitFor(check: () => Promise<boolean>, o: WaitOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let lastError = "";
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      if (await check()) return;
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${o.timeoutMs}ms waiting for ${o.what}` + (lastError ? ` (last error: ${lastError})` : ""));
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 50));
  }
}

export interface StartProcessOptions {
  /** Short name: used for the log file and messages. */
  name: string;
  /** Absolute path of the binary (see requireBinary). */
  command: string;
  args: string[];
  /** Existing dir: cwd of the process, holds its log. */
  dir: string;
  /** Readiness condition, polled until true. */
  ready: () => Promise<boolean>;
  readyWhat: string;
  readyTimeoutMs?: number;
  /** Extra environment variables (on top of this process's). */
  env?: Record<string, string>;
}

export interface ServerProcess {
  readonly pid: number;
  readonly logFile: string;
  readonly dir: string;
  running(): boolean;
  /** SIGTERM, wait up to timeoutMs, then SIGKILL; then removes dir unless keepDir. */
  stop(opts?: { keepDir?: boolean; timeoutMs?: number }): Promise<void>;
  /** SIGKILL and wait for exit; keeps dir (for restart / post-mortem). */
  kill9(): Promise<void>;
  /** Resolves when the process has exited: "code N" or "signal NAME". */
  readonly exited: Promise<string>;
}

let setpriv: string | null | undefined;
function pdeathsigWrapper(): string | null {
  if (setpriv === undefined) {
    try {
      setpriv = requireBinary("setpriv", "");
    } catch {
      setpriv = null;
    }
  }
  return setpriv;
}

export async function startProcess(o: StartProcessOptions): Promise<ServerProcess> {
  const logFile = path.join(o.dir, `${o.name}.log`);
  const fd = fs.openSync(logFile, "a");
  fs.writeSync(fd, `=== ${new Date().toISOString()} ${o.command} ${o.args.join(" ")}\n`);
  const wrapper = pdeathsigWrapper();
  const [cmd, args] = wrapper ? [wrapper, ["--pdeathsig", "KILL", "--", o.command, ...o.args]] : [o.command, o.args];
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { cwd: o.dir, stdio: ["ignore", fd, fd], env: o.env ? { ...process.env, ...o.env } : process.env });
  } finally {
    fs.closeSync(fd); // the child has its own copy
  }
  let alive = true;
  trackChild(child);
  const exited = new Promise<string>((resolve) => {
    const done = (how: string) => {
      alive = false;
      untrackChild(child);
      resolve(how);
    };
    child.once("exit", (code, signal) => done(signal ? `signal ${signal}` : `code ${code}`));
    child.once("error", (e) => done(`spawn error: ${e.message}`));
  });

  const kill9 = async () => {
    if (alive) child.kill("SIGKILL");
    await exited;
  };
  const stop: ServerProcess["stop"] = async (so = {}) => {
    if (alive) {
      child.kill("SIGTERM");
      const timer = new Promise((r) => setTimeout(r, so.timeoutMs ?? 10_000).unref());
      await Promise.race([exited, timer]);
      await kill9();
    }
    if (!so.keepDir) removeDir(o.dir);
  };

  const label = `${o.name} (pid ${child.pid ?? "?"})`;
  const timeoutMs = o.readyTimeoutMs ?? 15_000;
  // Dying before ready ends the wait at once instead of at the deadline.
  const died = new AbortController();
  void exited.then((how) => died.abort(new Error(`${label} exited with ${how} before ready`)));
  try {
    await waitFor(o.ready, { timeoutMs, what: `${label}: ${o.readyWhat}`, signal: died.signal });
  } catch (e) {
    await kill9();
    const tail = logTail(logFile);
    throw new Error(`${(e as Error).message}\n--- last lines of ${logFile} ---\n${tail}`);
  }
  return { pid: child.pid!, logFile, dir: o.dir, running: () => alive, stop, kill9, exited };
}
