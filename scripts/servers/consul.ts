// Real Consul agents for tests, e2e and benchmarks: the binary built from Consul's Go module
// by build-consul.sh (cached outside the repo), every port a free loopback port, a temp dir,
// readiness by condition.
//
// Modes:
// - "dev":       `consul agent -dev` (one in-memory server): leader elected, node registered
//                with a passing serfHealth (so sessions can be created) before it resolves;
// - "server":    a real single server (bootstrap_expect = 1, raft on disk in the temp dir):
//                answers compact JSON like production (a dev agent pretty-prints), for benches;
// - "no-leader": a real server with bootstrap_expect = 3 and no peers: it never elects a
//                leader, which is how tests get "No cluster leader" from a real agent.
// Options: ACLs (default deny + a management token), HTTPS with a CA and server cert made by
// `consul tls`. Lifecycle as in redis.ts: stop() (SIGTERM, then SIGKILL; removes dir),
// kill9() (keeps dir), restart() (same ports; a dev agent comes back EMPTY, with lower raft
// indexes — exactly the "index went backwards" case a watcher must handle).
//
// A missing Go toolchain or a failed build FAILS with how to fix it (never a skip).

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import fs from "node:fs";
import { requireBinary } from "./binaries";
import { freePort, onFreshPorts } from "./ports";
import { ensureDir, makeTempDir, removeDir, startProcess, waitFor, type ServerProcess } from "./process";

export const CONSUL_BUILD_HINT =
  "Consul is built from its Go module by scripts/servers/build-consul.sh (it is in neither Debian nor npm): install Go >= 1.25 (https://go.dev/dl/), or set CONSUL_BIN to a consul binary";

const HOST = "127.0.0.1";
const BUILD_SCRIPT = path.join(__dirname, "build-consul.sh");

let building: Promise<string> | null = null;

/** The consul binary: $CONSUL_BIN, else build-consul.sh's cached build (cold: many minutes). */
export async function consulBinary(timeoutMs = 45 * 60_000): Promise<string> {
  if (process.env.CONSUL_BIN) return requireBinary(process.env.CONSUL_BIN, CONSUL_BUILD_HINT);
  building ??= promisify(execFile)("bash", [BUILD_SCRIPT], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout }) => {
      const bin = stdout.trim().split("\n").pop() ?? "";
      if (!bin || !fs.existsSync(bin)) throw new Error(`build-consul.sh printed no binary path (got "${bin}")`);
      return bin;
    },
    (e: Error & { stderr?: string }) => {
      building = null;
      const tail = (e.stderr ?? "").trimEnd().split("\n").slice(-20).join("\n");
      throw new Error(`consul is not available: ${CONSUL_BUILD_HINT}\n${e.message}\n${tail}`);
    },
  );
  return building;
}

export interface ConsulOptions {
  mode?: "dev" | "server" | "no-leader";
  /** Turn ACLs on (default deny); this token is the management token (and the agent's). */
  aclManagementToken?: string;
  /** Also serve HTTPS (CA + server certificate from `consul tls`). */
  tls?: boolean;
  /** Extra HCL, appended last. */
  hcl?: string;
}

export interface ConsulServer {
  host: typeof HOST;
  /** http://127.0.0.1:<http port> */
  url: string;
  /** 127.0.0.1:<http port>, as consul's -http-addr and api.Config.Address want it */
  addr: string;
  ports: Record<"http" | "dns" | "serf_lan" | "serf_wan" | "server" | "grpc", number>;
  /** With tls: https://127.0.0.1:<https port> and the CA file that signed it. */
  httpsUrl?: string;
  caFile?: string;
  token?: string;
  node: string;
  bin: string;
  dir: string;
  logFile: string;
  /** Runs the consul CLI against this agent (HTTP address and token set). */
  env(): Record<string, string>;
  /** The agent's process id (the bench reads its CPU time). */
  pid(): number;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

async function pickPorts(): Promise<ConsulServer["ports"]> {
  return {
    http: await freePort(),
    dns: await freePort(),
    serf_lan: await freePort(),
    serf_wan: await freePort(),
    server: await freePort(),
    grpc: await freePort(),
  };
}

function hclFor(o: ConsulOptions, ports: ConsulServer["ports"], dir: string, https: number | null): string {
  const lines = [
    `ports { http = ${ports.http}, dns = ${ports.dns}, serf_lan = ${ports.serf_lan}, serf_wan = ${ports.serf_wan}, server = ${ports.server}, grpc = ${ports.grpc}, grpc_tls = -1${https ? `, https = ${https}` : ""} }`,
    `disable_update_check = true`,
    `disable_anonymous_signature = true`,
  ];
  if (o.aclManagementToken) {
    lines.push(
      `acl { enabled = true, default_policy = "deny", enable_token_persistence = false, tokens { initial_management = "${o.aclManagementToken}", agent = "${o.aclManagementToken}" } }`,
    );
  }
  if (https) {
    lines.push(
      `tls { defaults { ca_file = "${dir}/consul-agent-ca.pem", cert_file = "${dir}/dc1-server-consul-0.pem", key_file = "${dir}/dc1-server-consul-0-key.pem", verify_incoming = false } }`,
    );
  }
  if (o.hcl) lines.push(o.hcl);
  return lines.join("\n");
}

async function get(url: string, token?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers: token ? { "x-consul-token": token } : {}, signal: AbortSignal.timeout(2_000) });
  return { status: res.status, text: await res.text() };
}

/** A Consul agent on free loopback ports; resolves once it can serve locks (see modes above). */
export async function startConsul(o: ConsulOptions = {}): Promise<ConsulServer> {
  const bin = await consulBinary();
  const mode = o.mode ?? "dev";
  return onFreshPorts(async () => {
    const ports = await pickPorts();
    const https = o.tls ? await freePort() : null;
    const dir = makeTempDir("consul");
    const node = `lockdeck-${ports.http}`;
    try {
      if (o.tls) await makeCerts(bin, dir);
      // Without a leader a server holds each request up to rpc_hold_timeout (7 s) before
      // answering "No cluster leader"; 1 s keeps the answer the same and the tests quick.
      const opts = mode === "no-leader" ? { ...o, hcl: `performance { rpc_hold_timeout = "1s" }\n${o.hcl ?? ""}` } : o;
      return await launch({ bin, dir, node, ports, https, mode, o: opts });
    } catch (e) {
      removeDir(dir);
      throw e;
    }
  });
}

async function makeCerts(bin: string, dir: string): Promise<void> {
  const run = (args: string[]) => promisify(execFile)(bin, args, { cwd: dir, timeout: 30_000 });
  await run(["tls", "ca", "create"]);
  await run(["tls", "cert", "create", "-server", "-dc", "dc1", "-additional-ipaddress", HOST]);
}

interface Spec {
  bin: string;
  dir: string;
  node: string;
  ports: ConsulServer["ports"];
  https: number | null;
  mode: "dev" | "server" | "no-leader";
  o: ConsulOptions;
}

async function launch(s: Spec): Promise<ConsulServer> {
  const base = `http://${HOST}:${s.ports.http}`;
  const token = s.o.aclManagementToken;
  const args =
    s.mode === "dev"
      ? ["agent", "-dev", "-log-level", "info", "-client", HOST, "-bind", HOST, "-node", s.node, "-hcl", hclFor(s.o, s.ports, s.dir, s.https)]
      : [
          "agent",
          "-server",
          ...(s.o.hcl?.includes("bootstrap_expect") ? [] : ["-bootstrap-expect", s.mode === "server" ? "1" : "3"]),
          "-data-dir",
          path.join(s.dir, "data"),
          "-client",
          HOST,
          "-bind",
          HOST,
          "-node",
          s.node,
          "-hcl",
          hclFor(s.o, s.ports, s.dir, s.https),
        ];
  const ready =
    s.mode !== "no-leader"
      ? async () => {
          const leader = await get(`${base}/v1/status/leader`);
          if (leader.status !== 200 || leader.text === '""') return false;
          // Sessions need the node registered with a passing serfHealth (anti-entropy, async).
          const checks = await get(`${base}/v1/health/node/${s.node}`, token);
          if (checks.status !== 200) return false;
          const list = JSON.parse(checks.text) as Array<{ CheckID: string; Status: string }>;
          return list.some((c) => c.CheckID === "serfHealth" && c.Status === "passing");
        }
      : async () => (await get(`${base}/v1/status/leader`)).status === 200;
  const spawn = () =>
    startProcess({
      name: "consul",
      command: s.bin,
      args,
      dir: s.dir,
      ready,
      readyWhat: s.mode !== "no-leader" ? "a leader and a passing serfHealth on the node" : "the HTTP API to answer",
      readyTimeoutMs: 30_000,
    });
  let proc: ServerProcess = await spawn();
  const httpsUrl = s.https ? `https://${HOST}:${s.https}` : undefined;
  return {
    host: HOST,
    url: base,
    addr: `${HOST}:${s.ports.http}`,
    ports: s.ports,
    httpsUrl,
    caFile: s.https ? path.join(s.dir, "consul-agent-ca.pem") : undefined,
    token,
    node: s.node,
    bin: s.bin,
    dir: s.dir,
    logFile: proc.logFile,
    env: () => ({ CONSUL_HTTP_ADDR: `${HOST}:${s.ports.http}`, ...(token ? { CONSUL_HTTP_TOKEN: token } : {}) }),
    pid: () => proc.pid,
    stop: () => proc.stop(),
    kill9: () => proc.kill9(),
    async restart() {
      if (proc.running()) await proc.stop({ keepDir: true });
      ensureDir(s.dir);
      proc = await spawn();
    },
  };
}

export interface ConsulCluster {
  servers: ConsulServer[];
  /** Index in `servers` of the current leader (asks a live server). */
  leaderIndex(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * `n` (3) real servers on loopback, joined, bootstrap_expect = n, raft_multiplier 1 (fast
 * elections), rpc_hold_timeout 1 s; resolves once all agree on a leader and every node has a passing serfHealth.
 * For leader-failover and lost-quorum tests (reliability.md §6.1 "3-server set").
 */
export async function startConsulCluster(n = 3): Promise<ConsulCluster> {
  const bin = await consulBinary();
  return onFreshPorts(() => clusterOnce(bin, n));
}

async function clusterOnce(bin: string, n: number): Promise<ConsulCluster> {
  const specs: Spec[] = [];
  for (let i = 0; i < n; i++) {
    const ports = await pickPorts();
    specs.push({ bin, dir: makeTempDir("consul-cluster"), node: `lockdeck-${ports.http}`, ports, https: null, mode: "no-leader", o: {} });
  }
  const join = specs.map((x) => `"${HOST}:${x.ports.serf_lan}"`).join(", ");
  // rpc_hold_timeout as for a "no-leader" server: a read during an election or after quorum is
  // lost answers "No cluster leader" after 1 s, not after 7 s (which, on a busy machine, ran
  // past the client's 10 s deadline: a timeout instead of the answer a test waits for).
  const hcl = `retry_join = [${join}]\nbootstrap_expect = ${n}\nperformance {\n  raft_multiplier = 1\n  rpc_hold_timeout = "1s"\n}`;
  for (const x of specs) x.o = { hcl };
  const started = await Promise.allSettled(specs.map((x) => launch(x)));
  const servers = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async () => void (await Promise.all(servers.map((x) => x.stop())));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const leaderIndex = async () => {
    for (const x of servers) {
      try {
        const leader = JSON.parse((await get(`${x.url}/v1/status/leader`)).text) as string;
        const i = specs.findIndex((sp) => leader === `${HOST}:${sp.ports.server}`);
        if (i >= 0) return i;
      } catch {
        // that one is down; ask the next
      }
    }
    throw new Error("no server knows a leader");
  };
  try {
    await waitFor(
      async () => {
        await leaderIndex();
        for (const x of servers) {
          const checks = JSON.parse((await get(`${x.url}/v1/health/node/${x.node}`)).text) as Array<{ CheckID: string; Status: string }>;
          if (!checks.some((c) => c.CheckID === "serfHealth" && c.Status === "passing")) return false;
        }
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `a leader and passing serfHealth on ${n} servers` },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { servers, leaderIndex, stop };
}

/** Resolves once `check` says so; the usual deadline for Consul state to settle in tests. */
export function waitForConsul(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  return waitFor(check, { timeoutMs, intervalMs: 50, what });
}
