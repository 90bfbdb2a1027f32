// Runs the capture programs' `hold` mode (README.md, "The protocol") from tests:
// - build/locate each program, FAILING with an install hint when its toolchain is missing;
// - spawn it with stdin piped, collect its stdout lines and stderr;
// - wait for READY / RELEASED by condition with deadlines (never fixed sleeps);
// - never leave a child behind (tracked like the test servers, PDEATHSIG=KILL where
//   util-linux `setpriv` exists, and kill() for test cleanup).
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { requireBinary, runBuild } from "../servers/binaries";
import { trackChild, untrackChild } from "../servers/cleanup";
import { waitFor } from "../servers/process";

const HERE = path.resolve(__dirname);

export const JAVA_HINT = "the Redisson hold program needs Java 17+: `apt-get install -y openjdk-17-jdk-headless`";
export const MAVEN_HINT = "the Redisson hold program is built with Maven: `apt-get install -y maven`";
export const GO_HINT = "the go-redsync hold program needs Go (see scripts/capture/redsync/go.mod for the version): https://go.dev/dl/";
export const PYTHON_HINT = "the python-redis-lock hold program needs Python 3 with venv: `apt-get install -y python3 python3-venv`";

/** `java` and the Redisson fat jar (built once into ~/.cache/lockdeck; ~20 s cold). */
export async function prepareRedisson(timeoutMs = 280_000): Promise<{ java: string; jar: string }> {
  const java = requireBinary("java", JAVA_HINT);
  requireBinary("mvn", MAVEN_HINT);
  const jar = await runBuild(path.join(HERE, "redisson/build.sh"), "the Redisson hold program", `${JAVA_HINT}; ${MAVEN_HINT}`, timeoutMs);
  return { java, jar };
}

/** The go-redsync hold binary (go build; ~1 s warm, ~45 s cold). */
export async function prepareRedsync(timeoutMs = 280_000): Promise<string> {
  requireBinary("go", GO_HINT);
  return runBuild(path.join(HERE, "redsync/build.sh"), "the go-redsync hold program", GO_HINT, timeoutMs);
}

/** The venv python that has python-redis-lock installed, and capture.py. */
export async function preparePythonRedisLock(timeoutMs = 280_000): Promise<{ python: string; script: string }> {
  requireBinary("python3", PYTHON_HINT);
  const python = await runBuild(path.join(HERE, "python-redis-lock/setup.sh"), "the python-redis-lock venv", PYTHON_HINT, timeoutMs);
  return { python, script: path.join(HERE, "python-redis-lock", "capture.py") };
}

export interface HoldProcess {
  readonly label: string;
  readonly pid: number;
  /** Complete stdout lines so far. */
  lines(): string[];
  /** The same lines with when each arrived here (ms since epoch). */
  timedLines(): { line: string; at: number }[];
  stderr(): string;
  running(): boolean;
  /** Exit code (null when killed by a signal); resolves once the process is gone. */
  readonly exited: Promise<number | null>;
  /** Resolves when `line` was printed; rejects on the deadline or if the process exits first. */
  waitForLine(line: string, timeoutMs: number): Promise<void>;
  /** The "let go" line on stdin (closing it), without waiting for an answer. */
  letGo(): void;
  /** Writes one line to the program's stdin (e.g. Curator's "let-go 0"). */
  send(line: string): void;
  /** Protocol release: a line on stdin, then RELEASED and exit. Returns the exit code. */
  release(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL if still running; resolves once it is gone. */
  kill(): Promise<void>;
}

let setpriv: string | null | undefined;
function pdeathsig(): string | null {
  if (setpriv === undefined) {
    try {
      setpriv = requireBinary("setpriv", "");
    } catch {
      setpriv = null;
    }
  }
  return setpriv;
}

/** Spawns `command args` (absolute command path) in hold mode; does not wait for READY. */
export function startHold(label: string, command: string, args: string[], opts: { env?: Record<string, string> } = {}): HoldProcess {
  const wrapper = pdeathsig();
  const [cmd, argv] = wrapper ? [wrapper, ["--pdeathsig", "KILL", "--", command, ...args]] : [command, args];
  const child: ChildProcess = spawn(cmd, argv, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ? { ...process.env, ...opts.env } : undefined });
  trackChild(child);
  const out: string[] = [];
  const times: number[] = [];
  let partial = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (s: string) => {
    const parts = (partial + s).split("\n");
    partial = parts.pop()!;
    out.push(...parts.map((l) => l.replace(/\r$/, "")));
    const now = Date.now();
    for (let i = 0; i < parts.length; i++) times.push(now);
  });
  child.stderr!.setEncoding("utf8").on("data", (s: string) => {
    err += s;
    if (err.length > 1_000_000) err = err.slice(-500_000);
  });
  child.stdin!.on("error", () => {}); // EPIPE when it already exited
  let alive = true;
  let how = "";
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      alive = false;
      how = signal ? `signal ${signal}` : `code ${code}`;
      untrackChild(child);
      resolve(code);
    });
    child.once("error", (e) => {
      alive = false;
      how = `spawn error: ${e.message}`;
      untrackChild(child);
      resolve(null);
    });
  });
  const name = `${label} (pid ${child.pid ?? "?"})`;
  const tail = () => err.trimEnd().split("\n").slice(-25).join("\n");

  const waitForLine = async (line: string, timeoutMs: number) => {
    const died = new AbortController();
    void exited.then(() => {
      // Let the last stdout chunk arrive: a clean exit right after printing counts.
      setTimeout(() => died.abort(new Error(`${name} exited with ${how} before printing ${line}`)), 200);
    });
    try {
      await waitFor(async () => out.includes(line), { timeoutMs, what: `${name} to print ${line}`, signal: died.signal });
    } catch (e) {
      if (out.includes(line)) return;
      throw new Error(`${(e as Error).message}\n--- stdout ---\n${out.join("\n")}\n--- last lines of stderr ---\n${tail()}`);
    }
  };

  return {
    label,
    pid: child.pid ?? -1,
    lines: () => [...out],
    timedLines: () => out.map((line, i) => ({ line, at: times[i] })),
    stderr: () => err,
    running: () => alive,
    exited,
    waitForLine,
    letGo() {
      child.stdin!.end("\n");
    },
    send(line: string) {
      child.stdin!.write(line + "\n");
    },
    async release(timeoutMs = 30_000) {
      child.stdin!.end("\n");
      await waitForLine("RELEASED", timeoutMs);
      const deadline = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
      if ((await Promise.race([exited, deadline])) === "timeout") throw new Error(`${name} printed RELEASED but did not exit`);
      return exited;
    },
    async kill() {
      if (alive) child.kill("SIGKILL");
      await exited;
    },
  };
}
