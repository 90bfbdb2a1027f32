// Locating server binaries. Tests that need a real server must FAIL loudly
// when it is missing (never skip), with a message saying how to install it.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

// sbin dirs are often missing from a non-root PATH, yet that is where some
// distros put daemons.
const EXTRA_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

function isExecutableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Absolute path of `name` (searched in PATH, then the usual bin/sbin dirs;
 * a name containing "/" is checked as given). Throws
 * `Error("<name> not found: <installHint> ...")` if it is not there.
 */
export function requireBinary(name: string, installHint: string): string {
  if (name.includes("/")) {
    if (isExecutableFile(name)) return path.resolve(name);
  } else {
    const dirs = [...(process.env.PATH ?? "").split(path.delimiter), ...EXTRA_DIRS];
    for (const dir of dirs) {
      if (!dir) continue;
      const candidate = path.join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  throw new Error(`${name} not found: ${installHint} (searched PATH, /usr/sbin and /usr/bin)`);
}

export const REDIS_SERVER_HINT = "install it with `apt-get install -y redis-server`";
export const REDIS_CLI_HINT = "install it with `apt-get install -y redis-tools`";

/**
 * Runs a build/setup script (an absolute path; it caches its artifact outside the repo) and
 * returns the last line of its stdout: the artifact's path. Fails naming `what` and `hint`.
 */
export async function runBuild(script: string, what: string, hint: string, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)("bash", [script], {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    const last = stdout.trim().split("\n").pop() ?? "";
    if (!last) throw new Error(`${script} printed no path`);
    return last;
  } catch (e) {
    const x = e as Error & { stderr?: string };
    const tail = (x.stderr ?? "").trimEnd().split("\n").slice(-30).join("\n");
    throw new Error(`building ${what} failed (${hint}): ${x.message}\n${tail}`);
  }
}
