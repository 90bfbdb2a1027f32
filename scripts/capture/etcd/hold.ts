// Real etcd lock holders for tests and captures (README.md in this folder):
// - the Go program (go.etcd.io/etcd/client/v3/concurrency Mutex and Election), built once;
// - `etcdctl lock` / `etcdctl elect` from Debian's etcd-client;
// each spawned through ../hold.ts (tracked, PDEATHSIG, stdout lines, deadlines).
// A missing go or etcdctl FAILS with how to install it.
import path from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { requireBinary } from "../../servers/binaries";
import { etcdctlBinary } from "../../servers/etcd";
import { startHold, type HoldProcess } from "../hold";

export const GO_HINT = "the etcd concurrency hold program needs Go (see scripts/capture/etcd/go/go.mod for the version): https://go.dev/dl/";

const HERE = path.resolve(__dirname);

/** Builds (once; ~2 min cold with an empty module cache, ~1 s warm) and returns the Go binary. */
export async function prepareGoHold(timeoutMs = 280_000): Promise<string> {
  requireBinary("go", GO_HINT);
  try {
    const { stdout } = await promisify(execFile)("bash", [path.join(HERE, "build.sh")], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout.trim().split("\n").pop()!;
  } catch (e) {
    const x = e as Error & { stderr?: string };
    throw new Error(`building the etcd Go hold program failed (${GO_HINT}): ${x.message}\n${(x.stderr ?? "").slice(-3000)}`);
  }
}

/**
 * The Go program in hold mode on one session: `whats` are "mutex:<prefix>" or
 * "elect:<prefix>=<value>". Prints LEASE <hex>, HELD <key> <rev> per item, READY; release()
 * unlocks and resigns; SESSION-LOST when the lease is revoked under it.
 */
export function goHold(bin: string, endpoints: string | string[], whats: string[], ttlSec?: number): HoldProcess {
  const eps = Array.isArray(endpoints) ? endpoints.join(",") : endpoints;
  const args = ["hold", eps, ...(ttlSec ? ["--ttl", String(ttlSec)] : []), ...whats];
  return startHold(`etcd-go ${whats.join(" ")}`, bin, args);
}

/**
 * Several Go clients, one session (lease) each: client i holds the prefixes of specs[i] and,
 * once all hold, waits for the one after ">" ("/locks/a>/locks/b"). Prints LEASE i <hex>,
 * HOLDS i <key>, WAITING i <prefix>, READY (every wait is in etcd), ACQUIRED i <key>.
 */
export function goWaits(bin: string, endpoints: string | string[], specs: string[], ttlSec?: number): HoldProcess {
  const eps = Array.isArray(endpoints) ? endpoints.join(",") : endpoints;
  return startHold(`etcd-go waits ${specs.join(" ")}`, bin, ["waits", eps, ...(ttlSec ? ["--ttl", String(ttlSec)] : []), ...specs]);
}

/** `etcdctl lock <name>` holding until interrupted (prints the key once it holds the lock). */
export function etcdctlLock(endpoint: string, name: string, ttlSec = 10): HoldProcess {
  return startHold(`etcdctl lock ${name}`, etcdctlBinary(), [`--endpoints=${endpoint}`, "lock", name, `--ttl=${ttlSec}`]);
}

/** `etcdctl elect <name> <value>` campaigning until interrupted (prints key and value once leader). */
export function etcdctlElect(endpoint: string, name: string, value: string): HoldProcess {
  return startHold(`etcdctl elect ${name}`, etcdctlBinary(), [`--endpoints=${endpoint}`, "elect", name, value]);
}

/** SIGINT: etcdctl unlocks/resigns and exits, the way an operator's Ctrl-C would. */
export async function interrupt(p: HoldProcess, timeoutMs = 10_000): Promise<number | null> {
  if (p.running()) process.kill(p.pid, "SIGINT");
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
  if ((await Promise.race([p.exited, timer])) === "timeout") {
    await p.kill();
    throw new Error(`${p.label} did not exit within ${timeoutMs} ms of SIGINT`);
  }
  return p.exited;
}

/** The value after `prefix ` on a stdout line of the Go program (LEASE, HELD). */
export function lineValue(p: HoldProcess, prefix: string): string {
  const line = p.lines().find((l) => l.startsWith(prefix + " "));
  if (!line) throw new Error(`${p.label}: no "${prefix}" line on stdout: ${JSON.stringify(p.lines())}`);
  return line.slice(prefix.length + 1);
}
