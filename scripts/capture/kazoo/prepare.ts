// Locates (creating once) the kazoo venv for tests; FAILS with an install hint when Python is
// missing. See scripts/capture/ZOOKEEPER.md.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { requireBinary } from "../../servers/binaries";

export const KAZOO_PYTHON_HINT = "the kazoo hold program needs Python 3 with venv: `apt-get install -y python3 python3-venv` (kazoo comes from PyPI)";

/** The venv python that has kazoo installed, and capture.py. */
export async function prepareKazoo(timeoutMs = 280_000): Promise<{ python: string; script: string }> {
  requireBinary("python3", KAZOO_PYTHON_HINT);
  try {
    const { stdout } = await promisify(execFile)("bash", [path.join(__dirname, "setup.sh")], { timeout: timeoutMs, maxBuffer: 16 << 20 });
    return { python: stdout.trim().split("\n").pop()!, script: path.join(__dirname, "capture.py") };
  } catch (e) {
    const x = e as Error & { stderr?: string };
    throw new Error(`making the kazoo venv failed (${KAZOO_PYTHON_HINT}): ${x.message}\n${(x.stderr ?? "").slice(-3000)}`);
  }
}
