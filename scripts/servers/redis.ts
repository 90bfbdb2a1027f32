// Real redis-server processes for tests, e2e and benchmarks: free loopback
// ports, temp dirs, no persistence, readiness by condition.
//
// Lifecycle contract for every RedisServer:
// - stop():    SIGTERM (then SIGKILL after 10 s) and remove `dir`. Idempotent.
// - kill9():   SIGKILL; keeps `dir` (logs, nodes.conf) for restart().
// - restart(): start again on the same port and dir (recreated if stop()
//   removed it); a running server is stopped first. Another process could
//   take the port in between; that fails loudly with the log tail.
// A cluster node restarted after stop() lost its nodes.conf and comes back
// as an empty node; use kill9() + restart() + waitForClusterOk() instead.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { requireBinary, REDIS_CLI_HINT, REDIS_SERVER_HINT } from "./binaries";
import { onFreshPorts, freeClusterPort, freePort } from "./ports";
import { ensureDir, makeTempDir, removeDir, startProcess, waitFor, type ServerProcess } from "./process";
import { parseInfo, redisCommand } from "./resp";

export interface RedisServer {
  port: number;
  host: "127.0.0.1";
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  dir: string;
  password?: string;
  logFile: string;
  /** The server's pid now (for SIGSTOP/SIGCONT). */
  pid(): number;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

export interface RedisOptions {
  /** Extra redis-server arguments, appended last (so they win). */
  args?: string[];
  notifyKeyspaceEvents?: string;
  password?: string;
}

export interface RedisCluster {
  nodes: RedisServer[];
  urls: string[];
  stop(): Promise<void>;
}

interface Spec {
  name: string;
  port: number;
  dir: string;
  args: string[];
  password?: string;
  ready: (port: number, password?: string) => Promise<boolean>;
  readyWhat: string;
}

const HOST = "127.0.0.1" as const;

const ping = async (port: number, password?: string) => (await redisCommand(port, ["PING"], { password })) === "PONG";

function baseArgs(port: number, dir: string, o: RedisOptions): string[] {
  const a = ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", dir];
  // Default 5 s delay before a diskless full sync would make every replica start 5 s slower.
  a.push("--repl-diskless-sync-delay", "0");
  if (o.password) a.push("--requirepass", o.password, "--masterauth", o.password);
  if (o.notifyKeyspaceEvents !== undefined) a.push("--notify-keyspace-events", o.notifyKeyspaceEvents);
  return [...a, ...(o.args ?? [])];
}

function spawnRedis(s: Spec): Promise<ServerProcess> {
  return startProcess({
    name: s.name,
    command: requireBinary("redis-server", REDIS_SERVER_HINT),
    args: s.args,
    dir: s.dir,
    ready: () => s.ready(s.port, s.password),
    readyWhat: s.readyWhat,
  });
}

async function launch(s: Spec): Promise<RedisServer> {
  let proc = await spawnRedis(s);
  const auth = s.password ? `:${encodeURIComponent(s.password)}@` : "";
  return {
    port: s.port,
    host: HOST,
    url: `redis://${auth}${HOST}:${s.port}`,
    dir: s.dir,
    password: s.password,
    logFile: proc.logFile,
    pid: () => proc.pid,
    stop: () => proc.stop(),
    kill9: () => proc.kill9(),
    async restart() {
      if (proc.running()) await proc.stop({ keepDir: true });
      ensureDir(s.dir);
      proc = await spawnRedis(s);
    },
  };
}

// First start: fresh port and dir; retries when another process took the
// port between freePort() and redis binding it.
function startFresh(pickPort: () => Promise<number>, build: (port: number, dir: string) => Spec) {
  return onFreshPorts(async () => {
    const port = await pickPort();
    const dir = makeTempDir("redis");
    try {
      return await launch(build(port, dir));
    } catch (e) {
      removeDir(dir);
      throw e;
    }
  });
}

/** A standalone redis-server on a free port; resolves once it answers PING. */
export function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  return startFresh(freePort, (port, dir) => ({
    name: "redis",
    port,
    dir,
    args: baseArgs(port, dir, opts),
    password: opts.password,
    ready: ping,
    readyWhat: "PING -> PONG",
  }));
}

/**
 * A replica of `primary` (same password); resolves once INFO replication
 * says master_link_status:up, i.e. the initial sync is done.
 */
export function startRedisReplica(primary: RedisServer, opts: Omit<RedisOptions, "password"> = {}): Promise<RedisServer> {
  const password = primary.password;
  return startFresh(freePort, (port, dir) => ({
    name: "redis-replica",
    port,
    dir,
    args: [...baseArgs(port, dir, { ...opts, password }), "--replicaof", primary.host, String(primary.port)],
    password,
    ready: async (p, pw) => parseInfo(String(await redisCommand(p, ["INFO", "replication"], { password: pw }))).master_link_status === "up",
    readyWhat: `INFO replication master_link_status:up (primary :${primary.port})`,
  }));
}

/** Resolves once CLUSTER INFO on every node says cluster_state:ok and knows all nodes. */
export function waitForClusterOk(nodes: RedisServer[], timeoutMs = 30_000): Promise<void> {
  return waitFor(
    async () => {
      for (const n of nodes) {
        const info = parseInfo(String(await redisCommand(n.port, ["CLUSTER", "INFO"], { password: n.password })));
        if (info.cluster_state !== "ok" || Number(info.cluster_known_nodes) < nodes.length) return false;
      }
      return true;
    },
    { timeoutMs, intervalMs: 100, what: `cluster_state:ok on ports ${nodes.map((n) => n.port).join(",")}` },
  );
}

/**
 * `masters` (>= 3, a redis-cli requirement) cluster-enabled nodes without
 * replicas, all slots assigned; resolves once every node reports
 * cluster_state:ok. Node timeout is 2 s so failure tests are quick;
 * override with opts.args (e.g. ["--cluster-node-timeout", "15000"]).
 */
export async function startRedisCluster(masters = 3, opts: RedisOptions = {}): Promise<RedisCluster> {
  if (masters < 3) throw new Error(`startRedisCluster: need at least 3 masters, got ${masters}`);
  const cli = requireBinary("redis-cli", REDIS_CLI_HINT);
  const clusterArgs = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"];
  const started = await Promise.allSettled(
    Array.from({ length: masters }, (_, i) =>
      startFresh(freeClusterPort, (port, dir) => ({
        name: `redis-cluster-${i}`,
        port,
        dir,
        args: baseArgs(port, dir, { ...opts, args: [...clusterArgs, ...(opts.args ?? [])] }),
        password: opts.password,
        ready: ping,
        readyWhat: "PING -> PONG",
      })),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async () => void (await Promise.all(nodes.map((n) => n.stop())));
  try {
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const auth = opts.password ? ["-a", opts.password, "--no-auth-warning"] : [];
    const addrs = nodes.map((n) => `${HOST}:${n.port}`);
    try {
      await promisify(execFile)(cli, [...auth, "--cluster", "create", ...addrs, "--cluster-replicas", "0", "--cluster-yes"], {
        timeout: 60_000,
      });
    } catch (e) {
      const x = e as Error & { stdout?: string; stderr?: string };
      throw new Error(`redis-cli --cluster create failed: ${x.message}\n${x.stdout ?? ""}\n${x.stderr ?? ""}`);
    }
    await waitForClusterOk(nodes);
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, urls: nodes.map((n) => n.url), stop };
}

export interface RedisSentinels {
  /** "127.0.0.1:port" of each sentinel. */
  addresses: string[];
  masterName: string;
  /** The master's port as the sentinels see it now (asks the first one that answers). */
  masterPort(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * `n` real sentinels (redis-server --sentinel, the same binary Debian's redis-sentinel is)
 * watching `master` under `masterName`, quorum n/2+1, down-after 1 s, so a failover takes a
 * few seconds. Resolves once every sentinel knows the others and `replicas` replicas.
 */
export async function startRedisSentinels(master: RedisServer, o: { n?: number; masterName?: string; replicas?: number } = {}): Promise<RedisSentinels> {
  const n = o.n ?? 3;
  const name = o.masterName ?? "lockdeck-master";
  const started: ServerProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const dir = makeTempDir("sentinel");
      const conf = path.join(dir, "sentinel.conf");
      writeFileSync(
        conf,
        [
          `port ${port}`,
          `bind ${HOST}`,
          `dir ${dir}`,
          `sentinel monitor ${name} ${HOST} ${master.port} ${Math.floor(n / 2) + 1}`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 5000`,
          `sentinel parallel-syncs ${name} 1`,
          ...(master.password ? [`sentinel auth-pass ${name} ${master.password}`] : []),
          "",
        ].join("\n"),
      );
      started.push(
        await startProcess({
          name: `redis-sentinel-${i}`,
          command: requireBinary("redis-server", REDIS_SERVER_HINT),
          args: [conf, "--sentinel"],
          dir,
          ready: ping.bind(null, port, undefined),
          readyWhat: "PING -> PONG",
        }),
      );
      ports.push(port);
    }
    const askAll = async (args: string[]) => Promise.all(ports.map((p) => redisCommand(p, args)));
    await waitFor(
      async () => {
        const others = await askAll(["SENTINEL", "SENTINELS", name]);
        const replicas = await askAll(["SENTINEL", "REPLICAS", name]);
        return others.every((r) => Array.isArray(r) && r.length === n - 1) && replicas.every((r) => Array.isArray(r) && r.length >= (o.replicas ?? 1));
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `${n} sentinels to find each other and the replicas of ${name}` },
    );
  } catch (e) {
    await Promise.all(started.map((p) => p.stop()));
    throw e;
  }
  return {
    addresses: ports.map((p) => `${HOST}:${p}`),
    masterName: name,
    async masterPort() {
      for (const p of ports) {
        const r = await redisCommand(p, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]).catch(() => null);
        if (Array.isArray(r)) return Number(r[1]);
      }
      throw new Error("no sentinel answered GET-MASTER-ADDR-BY-NAME");
    },
    stop: async () => void (await Promise.all(started.map((p) => p.stop()))),
  };
}
