// A real Alertmanager on a free loopback port (no cluster, a receiver that sends nowhere), for
// the tests that post LockDeck's alerts to its v2 API and read them back. The binary is built
// from its Go module by scripts/servers/build-alertmanager.sh (cached in ~/.cache/lockdeck).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports";
import { makeTempDir, startProcess } from "./process";

export interface AlertmanagerServer {
  url: string;
  stop(): Promise<void>;
}

export async function buildAlertmanager(timeoutMs = 900_000): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [path.join(__dirname, "build-alertmanager.sh")], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return stdout.trim().split("\n").pop()!;
}

export async function startAlertmanager(bin: string): Promise<AlertmanagerServer> {
  const port = await freePort();
  const dir = makeTempDir("alertmanager");
  fs.writeFileSync(path.join(dir, "alertmanager.yml"), "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n");
  const url = `http://127.0.0.1:${port}`;
  const proc = await startProcess({
    name: "alertmanager",
    command: bin,
    args: [
      `--config.file=${path.join(dir, "alertmanager.yml")}`,
      `--storage.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    dir,
    ready: async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true,
    readyWhat: "/-/ready answering 200",
    readyTimeoutMs: 30_000,
  });
  return { url, stop: () => proc.stop() };
}
