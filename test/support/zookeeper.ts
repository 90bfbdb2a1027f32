// Test helpers for the ZooKeeper adapter: one real server per test file, adapters on it, a raw
// session for set-up and cross-checks, and the Curator / kazoo hold programs.
// Not imported by product code.

import { afterAll, afterEach, beforeAll } from "vitest";
import type { LockRecord } from "../../lib/model";
import { startZooKeeper, type ZooKeeperOptions, type ZooKeeperServer } from "../../scripts/servers/zookeeper";
import { startHold, type HoldProcess } from "../../scripts/capture/hold";
import { HOLD_JVM_FLAGS, prepareCurator } from "../../scripts/capture/curator/prepare";
import { prepareKazoo } from "../../scripts/capture/kazoo/prepare";
import { waitFor } from "../../scripts/servers/process";
import { ZooKeeperAdapter } from "../../lib/stores/zookeeper/adapter";
import { ZooKeeperConnectionSchema, type ZooKeeperConnectionConfig } from "../../lib/stores/zookeeper/config";
import { CreateMode, ZkSession } from "../../lib/stores/zookeeper/client";

export const signal = new AbortController().signal;

export interface ZkFixture {
  server: ZooKeeperServer;
  raw: ZkSession;
  adapter(over?: Partial<ZooKeeperConnectionConfig>): ZooKeeperAdapter;
}

/** One ZooKeeper for the file; adapters made with adapter() are closed after each test. */
export function zookeeperFixture(opts: ZooKeeperOptions = {}): ZkFixture {
  const f = {} as ZkFixture;
  const open: ZooKeeperAdapter[] = [];
  beforeAll(async () => {
    f.server = await startZooKeeper(opts);
    f.raw = new ZkSession({ connectString: f.server.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
    await f.raw.connected();
  }, 60_000);
  f.adapter = (over = {}) => {
    const a = new ZooKeeperAdapter(
      over.id ?? "zk",
      ZooKeeperConnectionSchema.parse({ id: "zk", kind: "zookeeper", connectString: f.server.address, roots: ["/locks"], ...over }),
    );
    open.push(a);
    return a;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    f.raw?.close();
    await f.server?.stop();
  });
  return f;
}

/** Creates a persistent node and any missing parents (set-up through the raw session). */
export async function ensurePath(raw: ZkSession, path: string): Promise<void> {
  let at = "";
  for (const part of path.split("/").slice(1)) {
    at += "/" + part;
    if (!(await raw.exists(at))) await raw.create(at, Buffer.alloc(0), CreateMode.PERSISTENT);
  }
}

/** Every hold process a test starts; afterEach kills what is still running. */
const procs: HoldProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});

export interface Holders {
  proc: HoldProcess;
  /** contender index → its ZooKeeper session id ("0x…") */
  sessions: string[];
  /** index of the contender with this session id */
  who(session: string | undefined): number;
}

function wrap(proc: HoldProcess): Holders {
  const sessions = () => {
    const out: string[] = [];
    for (const line of proc.lines()) {
      const m = /^SESSION (\d+) (0x[0-9a-f]+)$/.exec(line);
      if (m) out[Number(m[1])] = m[2];
    }
    return out;
  };
  return {
    proc,
    get sessions() {
      return sessions();
    },
    who: (session) => sessions().indexOf(session ?? "?"),
  };
}

export async function curatorHold(server: ZooKeeperServer, scenario: string, path: string, contenders = 3): Promise<Holders> {
  const { java, jar } = await prepareCurator();
  const p = startHold(`curator ${scenario} ${path}`, java, [...HOLD_JVM_FLAGS, "-jar", jar, "hold", server.address, scenario, path, String(contenders)]);
  procs.push(p);
  await p.waitForLine("READY", 60_000);
  return wrap(p);
}

export async function kazooHold(server: ZooKeeperServer, scenario: string, path: string, contenders = 3): Promise<Holders> {
  const { python, script } = await prepareKazoo();
  const p = startHold(`kazoo ${scenario} ${path}`, python, [script, "hold", server.address, scenario, path, String(contenders)]);
  procs.push(p);
  await p.waitForLine("READY", 60_000);
  return wrap(p);
}

export async function curatorCapture(server: ZooKeeperServer, root: string): Promise<HoldProcess> {
  const { java, jar } = await prepareCurator();
  const p = startHold(`curator capture ${root}`, java, [...HOLD_JVM_FLAGS, "-jar", jar, "capture", server.address, root]);
  procs.push(p);
  await p.waitForLine("READY", 90_000);
  return p;
}

export async function kazooCapture(server: ZooKeeperServer, root: string): Promise<HoldProcess> {
  const { python, script } = await prepareKazoo();
  const p = startHold(`kazoo capture ${root}`, python, [script, "capture", server.address, root]);
  procs.push(p);
  await p.waitForLine("READY", 60_000);
  return p;
}

export async function lockAt(adapter: ZooKeeperAdapter, key: string): Promise<LockRecord> {
  const { locks } = await adapter.reread([key], signal);
  const rec = locks.find((l) => l.key === key);
  if (!rec) throw new Error(`no record for ${key}; read: ${JSON.stringify(locks.map((l) => l.key))}`);
  return rec;
}

/** Polls the adapter until the lock at key satisfies check (deadline, never a blind sleep). */
export async function until(
  adapter: ZooKeeperAdapter,
  key: string,
  what: string,
  check: (l: LockRecord | undefined) => boolean,
  timeoutMs = 15_000,
): Promise<LockRecord | undefined> {
  let last: LockRecord | undefined;
  await waitFor(
    async () => {
      const { locks } = await adapter.reread([key], signal);
      last = locks.find((l) => l.key === key);
      return check(last);
    },
    { timeoutMs, intervalMs: 100, what: `${key}: ${what} (last: ${JSON.stringify(last?.holders.map((h) => h.id))})` },
  );
  return last;
}

export const BUILD_TIMEOUT_MS = 300_000;
