// Real ZooKeeper servers for tests, e2e and benchmarks: Debian's zkServer.sh in the foreground,
// free loopback ports, temp data dirs, readiness by condition (the `srvr` four-letter word).
//
// How Debian's zkServer.sh is driven: its zkEnv.sh (a link to /etc/zookeeper/conf/environment)
// sets ZOOCFGDIR, CLASSPATH and the log dir unconditionally, so we cannot point it elsewhere by
// environment. But `zkServer.sh start-foreground /abs/path/zoo.cfg` uses that file as the config
// (a path outside ZOOCFGDIR is taken as given), and SERVER_JVMFLAGS is appended after its own
// flags: we add the heap cap, and a later `-cp` with slf4j-simple so the server logs to stderr
// (our log file) instead of Debian's NOP logger. The AdminServer (port 8080) is off.
//
// Lifecycle contract (same as redis.ts):
// - stop():    SIGTERM (then SIGKILL after 10 s) and remove `dir`. Idempotent.
// - kill9():   SIGKILL; keeps `dir` (data, log) for restart().
// - restart(): start again on the same ports and dir; a running server is stopped first.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { requireBinary, runBuild } from "./binaries";
import { freePort, onFreshPorts } from "./ports";
import { ensureDir, makeTempDir, removeDir, startProcess, waitFor, type ServerProcess } from "./process";

export const ZOOKEEPER_HINT = "install it with `apt-get install -y zookeeper` (Debian puts zkServer.sh in /usr/share/zookeeper/bin)";
export const JAVA_SERVER_HINT = "ZooKeeper runs on Java: `apt-get install -y default-jre-headless`";

const HOST = "127.0.0.1" as const;
const DEBIAN_ZKSERVER = "/usr/share/zookeeper/bin/zkServer.sh";

/** Absolute path of zkServer.sh (PATH first, then Debian's place); throws with an install hint. */
export function zkServerScript(): string {
  try {
    return requireBinary("zkServer.sh", ZOOKEEPER_HINT);
  } catch {
    return requireBinary(DEBIAN_ZKSERVER, ZOOKEEPER_HINT);
  }
}

/** Debian's zkCli.sh (for the commands LockDeck shows; tests do not need it). */
export function zkCliScript(): string {
  return requireBinary(path.join(path.dirname(zkServerScript()), "zkCli.sh"), ZOOKEEPER_HINT);
}

export interface ZooKeeperOptions {
  /** ms; session timeouts are negotiated within 2..20 ticks. Default 500 (sessions 1–10 s). */
  tickTime?: number;
  /** Extra zoo.cfg lines (key → value), last so they win. */
  config?: Record<string, string | number>;
  heapMb?: number;
  /** A directory of ZooKeeper jars to run instead of Debian's (legacyZooKeeperJars()). */
  jars?: string;
}

export interface ZooKeeperServer {
  port: number;
  host: typeof HOST;
  /** host:port, for a client's connect string */
  address: string;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

export interface ZooKeeperEnsemble {
  servers: ZooKeeperServer[];
  /** "127.0.0.1:a,127.0.0.1:b,127.0.0.1:c" */
  connectString: string;
  stop(): Promise<void>;
}

/**
 * Sends one four-letter word (srvr, ruok, mntr, ...) and returns the server's whole answer.
 * Rejects on connection errors and timeouts; a word that is not whitelisted comes back as text.
 */
export function fourLetterWord(port: number, word: string, host = HOST, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host });
    let out = "";
    sock.setTimeout(timeoutMs, () => {
      sock.destroy();
      reject(new Error(`zookeeper ${host}:${port} ${word} timed out`));
    });
    sock.on("error", reject);
    sock.on("connect", () => sock.write(word));
    sock.on("data", (d) => (out += d.toString("utf8")));
    sock.on("close", () => resolve(out));
  });
}

/** The `Mode:` line of srvr: standalone, leader or follower ("" while not serving). */
export async function serverMode(port: number, host = HOST): Promise<string> {
  const text = await fourLetterWord(port, "srvr", host);
  return /^Mode: (\S+)/m.exec(text)?.[1] ?? "";
}

interface Spec {
  name: string;
  port: number;
  dir: string;
  config: string;
  heapMb: number;
  jars?: string;
  /** Ready when srvr reports one of these modes. */
  modes: string[];
}

function jvmFlags(heapMb: number, jars?: string): string {
  // Curator creates lock parents as container nodes: let the server reap empty ones every
  // second instead of every minute (a system property; zoo.cfg cannot set it).
  const flags = [`-Xmx${heapMb}m`, "-XX:+UseSerialGC", "-Xshare:auto", "-Dznode.container.checkIntervalMs=1000"];
  const simple = "/usr/share/java/slf4j-simple.jar";
  if (jars) {
    // Another release's jars (their own slf4j-simple among them), still with Debian's log config.
    flags.push("-cp", `/etc/zookeeper/conf:${path.join(jars, "*")}`);
  } else if (fs.existsSync(simple)) {
    // The last -cp wins: the same jars zkEnv.sh names, plus a logger that writes to stderr.
    flags.push("-cp", `/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:${simple}`);
  }
  return flags.join(" ");
}

function spawnZk(s: Spec): Promise<ServerProcess> {
  const script = zkServerScript();
  requireBinary("java", JAVA_SERVER_HINT);
  const cfg = path.join(s.dir, "zoo.cfg");
  fs.writeFileSync(cfg, s.config);
  return startProcess({
    name: s.name,
    // env(1) passes the variables: startProcess itself spawns with this process's environment.
    command: requireBinary("env", "coreutils"),
    args: [`SERVER_JVMFLAGS=${jvmFlags(s.heapMb, s.jars)}`, "JMXDISABLE=true", script, "start-foreground", cfg],
    dir: s.dir,
    ready: async () => s.modes.includes(await serverMode(s.port)),
    readyWhat: `srvr on :${s.port} reporting Mode: ${s.modes.join("|")}`,
    readyTimeoutMs: 60_000,
  });
}

function baseConfig(port: number, dataDir: string, o: ZooKeeperOptions): Record<string, string | number> {
  return {
    tickTime: o.tickTime ?? 500,
    dataDir,
    clientPort: port,
    clientPortAddress: HOST,
    "admin.enableServer": "false",
    // srvr is the default whitelist; mntr/ruok/cons help when debugging a test.
    "4lw.commands.whitelist": "srvr,ruok,mntr,cons,stat",
    // Tests churn thousands of nodes: no fsync per write, few snapshots, no client limit.
    forceSync: "no",
    snapCount: 1_000_000,
    maxClientCnxns: 0,
  };
}

function render(cfg: Record<string, string | number>): string {
  return (
    Object.entries(cfg)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n"
  );
}

function serverHandle(s: Spec, first: ServerProcess): ZooKeeperServer {
  let proc = first;
  return {
    port: s.port,
    host: HOST,
    address: `${HOST}:${s.port}`,
    dir: s.dir,
    logFile: proc.logFile,
    stop: () => proc.stop(),
    kill9: () => proc.kill9(),
    async restart() {
      if (proc.running()) await proc.stop({ keepDir: true });
      ensureDir(s.dir);
      proc = await spawnZk(s);
    },
  };
}

export const LEGACY_ZOOKEEPER_HINT = "ZooKeeper 3.5's jars come from Maven Central: `apt-get install -y maven`";

/**
 * The directory of ZooKeeper 3.5's jars (the last release without multiRead), fetched once into
 * ~/.cache/lockdeck by scripts/servers/zookeeper-3.5/build.sh; for startZooKeeper({ jars }).
 */
export async function legacyZooKeeperJars(timeoutMs = 280_000): Promise<string> {
  requireBinary("mvn", LEGACY_ZOOKEEPER_HINT);
  return runBuild(path.join(__dirname, "zookeeper-3.5", "build.sh"), "ZooKeeper 3.5's jars", LEGACY_ZOOKEEPER_HINT, timeoutMs);
}

/** A standalone ZooKeeper on a free loopback port; resolves once srvr says "standalone". */
export function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  return onFreshPorts(async () => {
    const port = await freePort();
    const dir = makeTempDir("zookeeper");
    const dataDir = path.join(dir, "data");
    fs.mkdirSync(dataDir);
    const spec: Spec = {
      name: "zookeeper",
      port,
      dir,
      config: render({ ...baseConfig(port, dataDir, opts), ...opts.config }),
      heapMb: opts.heapMb ?? 256,
      jars: opts.jars,
      modes: ["standalone"],
    };
    try {
      return serverHandle(spec, await spawnZk(spec));
    } catch (e) {
      removeDir(dir);
      throw e;
    }
  });
}

/**
 * `size` (odd, ≥ 3) servers forming one ensemble on loopback; resolves once every server
 * reports leader or follower (exactly one leader).
 */
export function startZooKeeperEnsemble(size = 3, opts: ZooKeeperOptions = {}): Promise<ZooKeeperEnsemble> {
  if (size < 3 || size % 2 === 0) return Promise.reject(new Error(`startZooKeeperEnsemble: need an odd size ≥ 3, got ${size}`));
  return onFreshPorts(() => ensembleOnce(size, opts));
}

async function ensembleOnce(size: number, opts: ZooKeeperOptions): Promise<ZooKeeperEnsemble> {
  const members = [];
  for (let i = 1; i <= size; i++) members.push({ id: i, client: await freePort(), peer: await freePort(), election: await freePort() });
  const servers: Array<{ line: string }> = members.map((m) => ({ line: `server.${m.id}=${HOST}:${m.peer}:${m.election}` }));
  const specs: Spec[] = members.map((m) => {
    const dir = makeTempDir(`zookeeper-${m.id}`);
    const dataDir = path.join(dir, "data");
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, "myid"), `${m.id}\n`);
    const cfg = { ...baseConfig(m.client, dataDir, opts), initLimit: 20, syncLimit: 10, ...opts.config };
    return {
      name: `zookeeper-${m.id}`,
      port: m.client,
      dir,
      config: render(cfg) + servers.map((s) => s.line).join("\n") + "\n",
      heapMb: opts.heapMb ?? 192,
      modes: ["leader", "follower"],
    };
  });
  const started = await Promise.allSettled(specs.map(async (s) => serverHandle(s, await spawnZk(s))));
  const ok = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const stop = async () => void (await Promise.all(ok.map((s) => s.stop())));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  try {
    await waitFor(async () => (await Promise.all(ok.map((s) => serverMode(s.port)))).filter((m) => m === "leader").length === 1, {
      timeoutMs: 30_000,
      what: "exactly one leader",
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { servers: ok, connectString: ok.map((s) => s.address).join(","), stop };
}
