// The Consul hold programs for tests and the capture driver: the Go program over the real
// hashicorp/consul/api (api.Lock, api.Semaphore), and the real `consul lock` CLI. Both follow
// the hold protocol in ../README.md (READY / stdin line / RELEASED). A missing Go FAILS with
// an install hint.

import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { requireBinary } from "../../servers/binaries";
import { startHold, type HoldProcess } from "../hold";

export const CONSUL_CAPTURE_HINT = "the Consul hold program needs Go >= 1.25 (see scripts/capture/consul/go.mod): https://go.dev/dl/";

let building: Promise<string> | null = null;

/** The consul-capture binary (go build into ~/.cache/lockdeck; ~1 s warm, ~30 s cold). */
export function prepareConsulCapture(timeoutMs = 280_000): Promise<string> {
  building ??= (async () => {
    requireBinary("go", CONSUL_CAPTURE_HINT);
    try {
      const { stdout } = await promisify(execFile)("bash", [path.join(__dirname, "build.sh")], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
      return stdout.trim().split("\n").pop() ?? "";
    } catch (e) {
      const x = e as Error & { stderr?: string };
      throw new Error(`building the Consul hold program failed (${CONSUL_CAPTURE_HINT}): ${x.message}\n${(x.stderr ?? "").slice(-3000)}`);
    }
  })();
  building.catch(() => (building = null));
  return building;
}

export interface ApiHoldOptions {
  ttl?: string;
  lockDelay?: string;
  value?: string;
  name?: string;
  token?: string;
}

function flags(o: ApiHoldOptions): string[] {
  const out: string[] = [];
  if (o.ttl) out.push("-ttl", o.ttl);
  if (o.lockDelay) out.push("-lock-delay", o.lockDelay);
  if (o.value !== undefined) out.push("-value", o.value);
  if (o.name) out.push("-name", o.name);
  if (o.token) out.push("-token", o.token);
  return out;
}

/** api.Lock on one key (`lock`), one session on two keys (`pair`), or api.Semaphore. */
export function holdApiLock(bin: string, addr: string, key: string, o: ApiHoldOptions = {}): HoldProcess {
  return startHold(`api.Lock ${key}`, bin, ["lock", ...flags(o), addr, key]);
}

export function holdApiPair(bin: string, addr: string, k1: string, k2: string, o: ApiHoldOptions = {}): HoldProcess {
  return startHold(`api.Lock pair ${k1} ${k2}`, bin, ["pair", ...flags(o), addr, k1, k2]);
}

export function holdApiSemaphore(bin: string, addr: string, prefix: string, limit: number, o: ApiHoldOptions = {}): HoldProcess {
  return startHold(`api.Semaphore ${prefix}`, bin, ["semaphore", ...flags(o), addr, prefix, String(limit)]);
}

/**
 * The real `consul lock [-n N] <prefix> <child>`: the child prints READY once consul holds
 * the lock and exits on a stdin line (-pass-stdin), after which consul unlocks and cleans up.
 * If the lock is taken away, consul kills the child and exits non-zero.
 */
export function holdConsulCli(consul: string, addr: string, prefix: string, o: { n?: number; token?: string; name?: string } = {}): HoldProcess {
  const args = ["lock", `-http-addr=${addr}`, "-pass-stdin"];
  if (o.n && o.n > 1) args.push(`-n=${o.n}`);
  if (o.token) args.push(`-token=${o.token}`);
  if (o.name) args.push(`-name=${o.name}`);
  args.push(prefix, "echo READY; read line; echo RELEASED");
  return startHold(`consul lock ${prefix}`, consul, args);
}

/** A `key=value` the Go program wrote to stderr (the last one when repeated). */
export function stderrValue(p: HoldProcess, name: string): string {
  const all = [...p.stderr().matchAll(new RegExp(`(?:^|\\s)${name}=(\\S+)`, "g"))];
  if (!all.length) throw new Error(`${p.label}: ${name}= not on stderr:\n${p.stderr()}`);
  return all[all.length - 1][1];
}
