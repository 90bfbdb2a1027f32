#!/usr/bin/env node
// Everything the tests need, on a fresh Debian machine, before `npm test` runs them:
//   1. Debian packages (real servers, Chromium, build tools): installed with apt-get when we
//      are root; otherwise one line says the command to run instead, and we stop.
//   2. npm packages: `npm ci` when node_modules does not match package-lock.json.
//   3. Builds cached outside the repo (${LOCKDECK_CACHE:-~/.cache/lockdeck}): the Consul agent
//      from its Go module, and the real-library hold programs (Redisson and Curator via Maven,
//      etcd and redsync and Consul api via Go, kazoo and python-redis-lock venvs from PyPI).
//      Each is a cache hit after the first run, so no test's timeout has to cover a build.
// Idempotent; uses Node built-ins only (it runs before node_modules exists).

import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const log = (msg) => console.log(`setup: ${msg}`);
const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
const globExists = (pattern) => spawnSync("sh", ["-c", `ls ${pattern}`], { stdio: "ignore" }).status === 0;

function run(what, cmd, args, opts = {}) {
  log(what);
  const r = spawnSync(cmd, args, { stdio: "inherit", ...opts });
  if (r.status !== 0) {
    console.error(`setup: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

if (Number(process.versions.node.split(".")[0]) < 20) {
  console.error(`setup: Node ${process.versions.node} is too old: LockDeck needs Node 20 or newer`);
  process.exit(1);
}

// [is it there?, Debian package]
const debian = [
  [() => has("redis-server"), "redis-server"],
  [() => has("redis-cli"), "redis-tools"],
  [() => has("redis-sentinel") || existsSync("/usr/bin/redis-sentinel"), "redis-sentinel"],
  [() => has("etcd"), "etcd-server"],
  [() => has("etcdctl"), "etcd-client"],
  [() => has("openssl"), "openssl"],
  // zkServer.sh is not on PATH: Debian installs it in /usr/share/zookeeper/bin.
  [() => has("zkServer.sh") || existsSync("/usr/share/zookeeper/bin/zkServer.sh"), "zookeeper"],
  [() => has("initdb") || globExists("/usr/lib/postgresql/*/bin/initdb"), "postgresql"],
  // better-sqlite3 has no prebuilt binary offline: npm builds it with node-gyp.
  [() => has("g++") && has("make"), "g++ make"],
  [() => existsSync("/usr/bin/chromium"), "chromium"],
  // The console-clock tests run `next start` under libfaketime.
  [() => has("faketime"), "faketime"],
  [() => has("java") && has("javac"), "openjdk-17-jdk-headless"],
  [() => has("mvn"), "maven"],
  [() => has("python3") && spawnSync("python3", ["-c", "import venv, ensurepip"], { stdio: "ignore" }).status === 0, "python3 python3-venv"],
];
const missing = debian.filter(([ok]) => !ok()).flatMap(([, pkg]) => pkg.split(" "));
if (missing.length > 0) {
  const install = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !has("apt-get")) {
    console.error(`setup: missing ${missing.join(", ")}. Run this once, then npm test again:`);
    console.error(`  sudo apt-get update && sudo ${install}`);
    process.exit(1);
  }
  run("apt-get update", "apt-get", ["update", "-qq"], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  run(`installing ${missing.join(" ")}`, "sh", ["-c", `${install} -qq >/dev/null`], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}
// Debian's Go is older than Consul's build needs; it comes from go.dev instead.
if (!has("go")) {
  console.error("setup: 'go' is not on PATH: install Go >= 1.25 from https://go.dev/dl/ (Debian's golang-go is too old for the Consul build)");
  process.exit(1);
}

// npm ci when node_modules was not made from this lockfile (npm writes its own copy of it).
const stamp = "node_modules/.package-lock.json";
if (!existsSync(stamp) || statSync(stamp).mtimeMs < statSync("package-lock.json").mtimeMs) {
  run("npm ci", "npm", ["ci", "--no-audit", "--no-fund"]);
}

const builds = [
  ["Consul agent (cold: ~17 min on 2 cores, then cached)", "scripts/servers/build-consul.sh"],
  ["Redisson hold program (Maven)", "scripts/capture/redisson/build.sh"],
  ["Curator hold program (Maven)", "scripts/capture/curator/build.sh"],
  ["ZooKeeper 3.5 jars, for the test of a server without multiRead (Maven)", "scripts/servers/zookeeper-3.5/build.sh"],
  ["etcd concurrency hold program (Go)", "scripts/capture/etcd/build.sh"],
  ["go-redsync hold program (Go)", "scripts/capture/redsync/build.sh"],
  ["Consul api hold program (Go)", "scripts/capture/consul/build.sh"],
  ["deploy kit validator (Go: BuildKit, k8s.io/api)", "scripts/deploy-check/build.sh"],
  ["promtool, to check deploy/prometheus-rules.yml (Go; cold: several minutes, then cached)", "scripts/servers/build-promtool.sh"],
  ["Grafana dashboard checker (Go)", "scripts/monitoring/dashboard-check/build.sh"],
  ["Alertmanager, to test the v2 alerts API webhook (Go)", "scripts/servers/build-alertmanager.sh"],
  ["kazoo venv (PyPI)", "scripts/capture/kazoo/setup.sh"],
  ["python-redis-lock venv (PyPI)", "scripts/capture/python-redis-lock/setup.sh"],
];
for (const [what, script] of builds) run(what, "bash", [script], { stdio: ["ignore", "ignore", "inherit"] });
log("ready");
