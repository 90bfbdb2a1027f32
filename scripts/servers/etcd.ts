// Real etcd processes for tests, e2e and benchmarks: a single member or an N-member cluster on
// loopback, free ports, temp data dirs, readiness by condition (GET /health says true).
//
// Lifecycle contract for every EtcdMember:
// - stop():    SIGTERM (then SIGKILL after 10 s) and remove `dir`. Idempotent.
// - kill9():   SIGKILL; keeps `dir` (the member's data) for restart().
// - restart(): start again on the same ports and data dir; a running member is stopped first
//              (keeping its data). A cluster member rejoins with its old identity.
// - pause()/resume(): SIGSTOP / SIGCONT. A paused member keeps its sockets open and answers
//              nothing, which is what a network partition looks like to its peers and clients
//              (no RST, only silence), and it comes back at once without a rejoin.
//
// Binaries come from Debian's etcd-server / etcd-client packages (etcd 3.4); a missing one
// FAILS with the install hint, never skips.
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { promisify } from "node:util";
import { requireBinary } from "./binaries";
import { freePort, onFreshPorts } from "./ports";
import { ensureDir, makeTempDir, removeDir, startProcess, waitFor, type ServerProcess } from "./process";

export const ETCD_HINT = "install it with `apt-get install -y etcd-server`";
export const ETCDCTL_HINT = "install it with `apt-get install -y etcd-client`";
export const OPENSSL_HINT = "install it with `apt-get install -y openssl`";

const HOST = "127.0.0.1" as const;

export interface EtcdTls {
  /** PEM files: the CA that signed the server certificate, and the server's own pair. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** A client pair signed by the same CA (for --client-cert-auth). */
  clientCertFile: string;
  clientKeyFile: string;
  /** The server demands a client certificate signed by caFile. */
  clientCertAuth?: boolean;
}

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  /** http(s)://127.0.0.1:clientPort */
  endpoint: string;
  dir: string;
  logFile: string;
  pid(): number;
  running(): boolean;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface EtcdServer extends EtcdMember {
  tls?: EtcdTls;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  /** The member the others follow, by asking each member's maintenance status. */
  leader(): Promise<EtcdMember>;
  stop(): Promise<void>;
}

export interface EtcdOptions {
  /** Serve clients over TLS with a fresh self-signed CA (made with openssl in the temp dir). */
  tls?: boolean;
  /** With tls: also require client certificates signed by that CA. */
  clientCertAuth?: boolean;
  /** Extra etcd arguments, appended last (so they win). */
  args?: string[];
}

interface Spec {
  name: string;
  clientPort: number;
  peerPort: number;
  dir: string;
  initialCluster: string;
  /** Same for every member of one cluster, different between clusters. */
  token: string;
  tls?: EtcdTls;
  args: string[];
  /** Cluster members are ready only when the whole cluster has a leader. */
  readyTimeoutMs: number;
}

function clientUrl(port: number, tls?: EtcdTls) {
  return `${tls ? "https" : "http"}://${HOST}:${port}`;
}

function argsOf(s: Spec): string[] {
  const a = [
    "--name",
    s.name,
    "--data-dir",
    path.join(s.dir, "data"),
    "--listen-client-urls",
    clientUrl(s.clientPort, s.tls),
    "--advertise-client-urls",
    clientUrl(s.clientPort, s.tls),
    "--listen-peer-urls",
    `http://${HOST}:${s.peerPort}`,
    "--initial-advertise-peer-urls",
    `http://${HOST}:${s.peerPort}`,
    "--initial-cluster",
    s.initialCluster,
    "--initial-cluster-state",
    "new",
    "--initial-cluster-token",
    s.token,
    "--logger",
    "zap",
    "--log-outputs",
    "stderr",
    // Fast elections keep the leader/minority tests short on a 2-core machine.
    "--heartbeat-interval",
    "50",
    "--election-timeout",
    "500",
  ];
  if (s.tls) a.push("--cert-file", s.tls.certFile, "--key-file", s.tls.keyFile);
  // --trusted-ca-file makes etcd demand a client certificate signed by that CA.
  if (s.tls?.clientCertAuth) a.push("--client-cert-auth", "--trusted-ca-file", s.tls.caFile);
  return [...a, ...s.args];
}

/** GET /health on the client URL: {"health":"true"} once the member has a leader and quorum. */
export function healthy(endpoint: string, tls?: EtcdTls, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const url = new URL("/health", endpoint);
    const mod = url.protocol === "https:" ? https : http;
    const creds = tls
      ? { ca: fs.readFileSync(tls.caFile), ...(tls.clientCertAuth && { cert: fs.readFileSync(tls.clientCertFile), key: fs.readFileSync(tls.clientKeyFile) }) }
      : {};
    const req = mod.get(url, { timeout: timeoutMs, ...creds }, (res) => {
      let body = "";
      res
        .setEncoding("utf8")
        .on("data", (c: string) => (body += c))
        .on("end", () => resolve(/"health":\s*"true"/.test(body)));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
  });
}

/** The member's own maintenance status over the JSON gateway (member id, leader id, raft term). */
export async function memberStatus(m: Pick<EtcdMember, "endpoint">, timeoutMs = 1_000) {
  const res = await fetch(new URL("/v3/maintenance/status", m.endpoint), {
    method: "POST",
    body: "{}",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const j = (await res.json()) as { header: { member_id: string }; leader?: string; raftTerm?: string; raftIndex?: string; version: string };
  // The JSON gateway leaves out zero values: no "leader" field means leader 0 (none known).
  return { memberId: j.header.member_id, leader: j.leader ?? "0", raftTerm: Number(j.raftTerm ?? 0), raftIndex: Number(j.raftIndex ?? 0), version: j.version };
}

function spawnEtcd(s: Spec): Promise<ServerProcess> {
  return startProcess({
    name: s.name,
    command: requireBinary("etcd", ETCD_HINT),
    args: argsOf(s),
    dir: s.dir,
    ready: () => healthy(clientUrl(s.clientPort, s.tls), s.tls),
    readyWhat: `GET ${clientUrl(s.clientPort, s.tls)}/health -> {"health":"true"}`,
    readyTimeoutMs: s.readyTimeoutMs,
  });
}

function member(s: Spec, first: ServerProcess): EtcdMember {
  let proc = first;
  return {
    name: s.name,
    clientPort: s.clientPort,
    peerPort: s.peerPort,
    endpoint: clientUrl(s.clientPort, s.tls),
    dir: s.dir,
    logFile: first.logFile,
    pid: () => proc.pid,
    running: () => proc.running(),
    stop: () => {
      if (proc.running()) process.kill(proc.pid, "SIGCONT"); // a paused member cannot handle SIGTERM
      return proc.stop();
    },
    kill9: () => proc.kill9(),
    async restart() {
      if (proc.running()) {
        process.kill(proc.pid, "SIGCONT");
        await proc.stop({ keepDir: true });
      }
      ensureDir(s.dir);
      // The data dir exists now: etcd ignores --initial-cluster* and rejoins with its identity.
      proc = await spawnEtcd(s);
    },
    pause: () => process.kill(proc.pid, "SIGSTOP"),
    resume: () => process.kill(proc.pid, "SIGCONT"),
  };
}

/** A CA and a server certificate for 127.0.0.1, made with openssl in `dir`. */
export async function makeTls(dir: string): Promise<EtcdTls> {
  const openssl = requireBinary("openssl", OPENSSL_HINT);
  const run = (args: string[]) => promisify(execFile)(openssl, args, { cwd: dir, timeout: 30_000 });
  const f = (n: string) => path.join(dir, n);
  await run([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=lockdeck-test-ca",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
  ]);
  await run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    f("server.key"),
    "-out",
    f("server.csr"),
  ]);
  fs.writeFileSync(f("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await run([
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    f("san.ext"),
    "-out",
    f("server.pem"),
  ]);
  await run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    "/CN=lockdeck-client",
    "-keyout",
    f("client.key"),
    "-out",
    f("client.csr"),
  ]);
  fs.writeFileSync(f("client.ext"), "extendedKeyUsage=clientAuth\n");
  await run([
    "x509",
    "-req",
    "-in",
    f("client.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    f("client.ext"),
    "-out",
    f("client.pem"),
  ]);
  return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key"), clientCertFile: f("client.pem"), clientKeyFile: f("client.key") };
}

/** A single-member etcd on free loopback ports; resolves once GET /health says true. */
export function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  return onFreshPorts(async () => {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const dir = makeTempDir("etcd");
    try {
      const tls = opts.tls ? { ...(await makeTls(dir)), clientCertAuth: opts.clientCertAuth } : undefined;
      const name = "etcd-0";
      const s: Spec = {
        name,
        clientPort,
        peerPort,
        dir,
        tls,
        args: opts.args ?? [],
        readyTimeoutMs: 20_000,
        initialCluster: `${name}=http://${HOST}:${peerPort}`,
        token: `lockdeck-${path.basename(dir)}`,
      };
      return { ...member(s, await spawnEtcd(s)), tls };
    } catch (e) {
      removeDir(dir);
      throw e;
    }
  });
}

/**
 * `size` members on loopback, resolves once every member says healthy (a leader exists).
 * Members start in parallel: each one waits for its peers before it can be healthy.
 */
export function startEtcdCluster(size = 3, opts: Omit<EtcdOptions, "tls"> = {}): Promise<EtcdCluster> {
  return onFreshPorts(() => clusterOnce(size, opts));
}

async function clusterOnce(size: number, opts: Omit<EtcdOptions, "tls">): Promise<EtcdCluster> {
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const names = ports.map((_, i) => `etcd-${i}`);
  const initialCluster = ports.map((p, i) => `${names[i]}=http://${HOST}:${p.peer}`).join(",");
  const token = `lockdeck-cluster-${process.pid}-${ports[0].client}`;
  const specs: Spec[] = ports.map((p, i) => ({
    name: names[i],
    clientPort: p.client,
    peerPort: p.peer,
    dir: makeTempDir(`etcd${i}`),
    initialCluster,
    token,
    args: opts.args ?? [],
    readyTimeoutMs: 30_000,
  }));
  const started = await Promise.allSettled(specs.map(async (s) => member(s, await spawnEtcd(s))));
  const members = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async () => void (await Promise.all(members.map((m) => m.stop())));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stop();
    for (const s of specs) removeDir(s.dir);
    throw failed.reason;
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    stop,
    async leader() {
      let found: EtcdMember | undefined;
      await waitFor(
        async () => {
          for (const m of members) {
            if (!m.running()) continue;
            const st = await memberStatus(m).catch(() => null);
            if (st && st.leader !== "0" && st.leader === st.memberId) found = m;
          }
          return !!found;
        },
        { timeoutMs: 10_000, intervalMs: 100, what: "an etcd member that is the leader" },
      );
      return found!;
    },
  };
}

/** Runs etcdctl (API v3) against `endpoints`; resolves with stdout, rejects with stderr. */
export async function etcdctl(endpoints: string | string[], args: string[], o: { input?: string; tls?: EtcdTls; timeoutMs?: number } = {}) {
  const bin = requireBinary("etcdctl", ETCDCTL_HINT);
  const eps = Array.isArray(endpoints) ? endpoints.join(",") : endpoints;
  const tlsArgs = o.tls
    ? [`--cacert=${o.tls.caFile}`, ...(o.tls.clientCertAuth ? [`--cert=${o.tls.clientCertFile}`, `--key=${o.tls.clientKeyFile}`] : [])]
    : [];
  return new Promise<string>((resolve, reject) => {
    const child = execFile(
      bin,
      [`--endpoints=${eps}`, ...tlsArgs, ...args],
      { env: { ...process.env, ETCDCTL_API: "3" }, timeout: o.timeoutMs ?? 15_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`etcdctl ${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
    // etcdctl may exit (or fail) before it reads stdin: the EPIPE that follows is not an
    // error of ours (the exit status above says how the command went), and must not go uncaught.
    child.stdin?.on("error", () => {});
    child.stdin?.end(o.input ?? "");
  });
}

/** The etcdctl binary for long-running holders (`etcdctl lock`, `etcdctl elect`). */
export function etcdctlBinary(): string {
  return requireBinary("etcdctl", ETCDCTL_HINT);
}
