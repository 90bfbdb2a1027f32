// Captures what real ZooKeeper lock libraries write, into lib/formats/testdata/zookeeper/*.json
// (format: ZkFixture in lib/formats/zookeeper/entry.ts). See scripts/capture/ZOOKEEPER.md.
//
//   npx tsx scripts/capture/dump-zookeeper.ts [curator] [kazoo] [curator-waits]   capture (default: all)
//   npx tsx scripts/capture/dump-zookeeper.ts --dump <connectString> <root> <out.json>
//
// For each library: a fresh ZooKeeper on a free loopback port, the library's program in capture
// mode (every scenario under /capture/<library>/<scenario>), a dump on READY (all held) and
// another right after RELEASED (what the library leaves behind), then everything stops.
import fs from "node:fs";
import path from "node:path";
import { dumpTree } from "../../lib/stores/zookeeper/dump";
import type { ZkFixture } from "../../lib/formats/zookeeper/entry";
import { startZooKeeper, serverMode, type ZooKeeperServer } from "../servers/zookeeper";
import { startHold, type HoldProcess } from "./hold";
import { HOLD_JVM_FLAGS, prepareCurator } from "./curator/prepare";
import { prepareKazoo } from "./kazoo/prepare";
import { curatorWaits } from "./waits";

const OUT = path.resolve(__dirname, "../../lib/formats/testdata/zookeeper");

async function dump(zk: ZooKeeperServer | string, root: string, file: string, capture: ZkFixture["capture"]): Promise<void> {
  const connect = typeof zk === "string" ? zk : zk.address;
  const now = Date.now();
  const nodes = await dumpTree(connect, root);
  const fixture: ZkFixture = { capture, now, root, nodes };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(fixture, null, 1) + "\n");
  console.error(`wrote ${path.relative(process.cwd(), file)} (${nodes.length} znodes)`);
}

async function session(zk: ZooKeeperServer, library: string, version: string, program: string, start: () => HoldProcess, root: string): Promise<void> {
  const server = `ZooKeeper ${(await serverMode(zk.port)) || "?"} (Debian 3.8)`;
  const capture = (scenario: string) => ({ library, version, scenario, program, server, capturedAt: new Date().toISOString() });
  const p = start();
  try {
    await p.waitForLine("READY", 120_000);
    await dump(zk, root, path.join(OUT, `${library}-all.json`), capture("all (held)"));
    const code = await p.release(60_000);
    if (code !== 0) throw new Error(`${program} exited ${code}:\n${p.stderr().slice(-3000)}`);
    await dump(zk, root, path.join(OUT, `${library}-after-release.json`), capture("after release"));
  } finally {
    await p.kill();
  }
}

async function curator(zk: ZooKeeperServer): Promise<void> {
  const { java, jar } = await prepareCurator();
  const pom = fs.readFileSync(path.join(__dirname, "curator/pom.xml"), "utf8");
  const version = /<curator.version>(.+)<\/curator.version>/.exec(pom)![1];
  const root = "/capture/curator";
  await session(
    zk,
    "curator",
    version,
    "scripts/capture/curator CuratorCapture capture",
    () => startHold("curator capture", java, [...HOLD_JVM_FLAGS, "-jar", jar, "capture", zk.address, root]),
    root,
  );
}

/**
 * Two Curator clients (two sessions), each holding one InterProcessMutex and waiting for the
 * other's: a real deadlock; the session that owns /waits/a's holder node owns /waits/b's waiter.
 */
async function captureCuratorWaits(zk: ZooKeeperServer): Promise<void> {
  const tool = await prepareCurator();
  const pom = fs.readFileSync(path.join(__dirname, "curator/pom.xml"), "utf8");
  const version = /<curator.version>(.+)<\/curator.version>/.exec(pom)![1];
  const root = "/capture/curator-waits";
  const specs = [`${root}/a>${root}/b`, `${root}/b>${root}/a`];
  const p = curatorWaits(tool, zk.address, specs);
  try {
    await p.waitForLine("READY", 120_000);
    const server = `ZooKeeper ${(await serverMode(zk.port)) || "?"} (Debian 3.8)`;
    const program = `scripts/capture/curator CuratorWaits ${specs.join(" ")}`;
    await dump(zk, root, path.join(OUT, "curator-waits-cycle.json"), {
      library: "curator",
      version,
      scenario: "waits cycle (held)",
      program,
      server,
      capturedAt: new Date().toISOString(),
    });
    const code = await p.release(60_000);
    if (code !== 0) throw new Error(`CuratorWaits exited ${code}:\n${p.stderr().slice(-3000)}`);
  } finally {
    await p.kill();
  }
}

async function kazoo(zk: ZooKeeperServer): Promise<void> {
  const { python, script } = await prepareKazoo();
  const version = fs.readFileSync(path.join(__dirname, "kazoo/requirements.txt"), "utf8").match(/kazoo==(\S+)/)![1];
  const root = "/capture/kazoo";
  await session(
    zk,
    "kazoo",
    version,
    "scripts/capture/kazoo/capture.py capture",
    () => startHold("kazoo capture", python, [script, "capture", zk.address, root]),
    root,
  );
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--dump") {
    const [, connect, root, out] = argv;
    if (!connect || !root || !out) throw new Error("usage: --dump <connectString> <root> <out.json>");
    await dump(connect, root, path.resolve(out), {
      library: "?",
      version: "?",
      scenario: "manual dump",
      program: "-",
      server: connect,
      capturedAt: new Date().toISOString(),
    });
    return;
  }
  const libs = argv.length ? argv : ["curator", "kazoo", "curator-waits"];
  for (const lib of libs) {
    const zk = await startZooKeeper();
    try {
      if (lib === "curator") await curator(zk);
      else if (lib === "kazoo") await kazoo(zk);
      else if (lib === "curator-waits") await captureCuratorWaits(zk);
      else throw new Error(`unknown library ${lib}: curator, kazoo or curator-waits`);
    } finally {
      await zk.stop();
    }
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
