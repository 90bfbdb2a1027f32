// ZooKeeper figures for the bench (issue 4 targets), runnable alone:
//   npx tsx scripts/bench/zookeeper.ts
// or from scripts/bench/run.ts through benchZooKeeper().
//   1. snapshot: 10k lock nodes (1 000 Curator-style lock dirs × 10 contenders) — the decoded
//      adapter.snapshot() against the raw floor (getChildren of every dir + getData of every
//      node, same concurrency, no sync, no decoding) in the same run. Target ≤ 1.5×.
//   2. watch → hub event latency: a contender node created → the hub's `upsert` for its lock
//      (watch fired, re-read, diffed, published; what SSE then sends). Target p95 < 250 ms.
//   3. idle: znode reads the adapter makes while nothing changes (target: none; no re-walk).

import { startZooKeeper } from "../servers/zookeeper";
import { ZooKeeperAdapter } from "../../lib/stores/zookeeper/adapter";
import { ZooKeeperConnectionSchema } from "../../lib/stores/zookeeper/config";
import { CreateMode, ZkSession } from "../../lib/stores/zookeeper/client";
import { Hub } from "../../lib/hub/hub";
import { EventBus } from "../../lib/hub/bus";
import { median, percentile } from "./stats";

const DIRS = 1_000;
const PER_DIR = 10;
const ROUNDS = 5;
const LAT_WRITES = 100;

export interface ZooKeeperBench {
  nodes: number;
  floorMs: number;
  snapshotMs: number;
  ratio: number;
  eventP50Ms: number;
  eventP95Ms: number;
  idleReads: number;
}

function uuid(i: number): string {
  const h = i.toString(16).padStart(12, "0");
  return `6c2e4b7d-0000-4000-8000-${h}`;
}

async function rawFloor(s: ZkSession, root: string): Promise<number> {
  const t0 = performance.now();
  const { children: dirs } = await s.getChildren(root);
  let inflight = 0;
  const queue: Array<() => void> = [];
  const limited = async <T>(fn: () => Promise<T>) => {
    if (inflight >= 256) await new Promise<void>((r) => queue.push(r));
    inflight++;
    try {
      return await fn();
    } finally {
      inflight--;
      queue.shift()?.();
    }
  };
  await Promise.all(
    dirs.map(async (d) => {
      const { children } = await limited(() => s.getChildren(`${root}/${d}`));
      await Promise.all(children.map((c) => limited(() => s.getData(`${root}/${d}/${c}`))));
    }),
  );
  return performance.now() - t0;
}

export async function benchZooKeeper(log: (s: string) => void = console.log): Promise<ZooKeeperBench> {
  const zk = await startZooKeeper({ heapMb: 512 });
  const raw = new ZkSession({ connectString: zk.address, sessionTimeoutMs: 10_000, auth: [] }, 30_000);
  try {
    await raw.connected();
    await raw.create("/locks", Buffer.alloc(0), CreateMode.PERSISTENT);
    for (let d = 0; d < DIRS; d += 100) {
      await raw.createAll(Array.from({ length: 100 }, (_, i) => ({ path: `/locks/job-${d + i}`, mode: CreateMode.PERSISTENT })));
    }
    // Ephemeral sequential contenders, written by our raw session, with an IP as data (Curator's default).
    for (let d = 0; d < DIRS; d++) {
      await raw.createAll(
        Array.from({ length: PER_DIR }, (_, i) => ({
          path: `/locks/job-${d}/_c_${uuid(d * PER_DIR + i)}-lock-`,
          data: Buffer.from("10.1.2.3"),
          mode: CreateMode.EPHEMERAL_SEQUENTIAL,
        })),
      );
    }
    const nodes = DIRS * PER_DIR;
    log(`zookeeper: ${nodes} lock nodes in ${DIRS} dirs`);

    const adapter = new ZooKeeperAdapter("bench", ZooKeeperConnectionSchema.parse({ id: "bench", kind: "zookeeper", connectString: zk.address, roots: ["/locks"] }));
    const signal = new AbortController().signal;
    await adapter.snapshot(signal); // warm-up (JIT, watches armed once)
    await rawFloor(raw, "/locks");
    const floors: number[] = [];
    const snaps: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      floors.push(await rawFloor(raw, "/locks"));
      const t0 = performance.now();
      const snap = await adapter.snapshot(signal);
      snaps.push(performance.now() - t0);
      if (snap.locks.length !== DIRS) throw new Error(`snapshot saw ${snap.locks.length} locks, expected ${DIRS}`);
    }
    const floorMs = median(floors);
    const snapshotMs = median(snaps);
    log(`zookeeper: snapshot ${snapshotMs.toFixed(0)} ms vs raw floor ${floorMs.toFixed(0)} ms (${(snapshotMs / floorMs).toFixed(2)}×)`);

    // Watch → hub upsert latency, and idle reads.
    const bus = new EventBus();
    const hub = new Hub("bench", adapter, bus);
    hub.start();
    await waitLive(adapter);
    const session = adapter.sessionForTests();
    let reads = 0;
    for (const m of ["getData", "getChildren", "exists"] as const) {
      const orig = session[m].bind(session) as (...a: unknown[]) => Promise<unknown>;
      (session as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => (reads++, orig(...a));
    }
    reads = 0;
    await new Promise((r) => setTimeout(r, 5_000));
    const idleReads = reads;
    log(`zookeeper: ${idleReads} znode reads in 5 s of idle (live: ${adapter.updateMode().mode})`);

    const lat: number[] = [];
    for (let i = 0; i < LAT_WRITES; i++) {
      const dir = `/locks/job-${i}`;
      const seen = new Promise<number>((resolve) => {
        const off = bus.subscribe((e) => {
          if (e.type === "upsert" && (e.data as { lock: { key: string; waiters: unknown[] } }).lock.key === dir && (e.data as { lock: { waiters: unknown[] } }).lock.waiters.length === PER_DIR) {
            off();
            resolve(performance.now());
          }
        });
      });
      const t0 = performance.now();
      await raw.create(`${dir}/_c_${uuid(900_000 + i)}-lock-`, Buffer.from("10.9.9.9"), CreateMode.EPHEMERAL_SEQUENTIAL);
      lat.push((await seen) - t0);
    }
    const eventP50Ms = median(lat);
    const eventP95Ms = percentile(lat, 95);
    log(`zookeeper: watch → hub upsert p50 ${eventP50Ms.toFixed(1)} ms, p95 ${eventP95Ms.toFixed(1)} ms (${LAT_WRITES} writes)`);
    await hub.stop();
    return { nodes, floorMs, snapshotMs, ratio: snapshotMs / floorMs, eventP50Ms, eventP95Ms, idleReads };
  } finally {
    raw.close();
    await zk.stop();
  }
}

async function waitLive(adapter: ZooKeeperAdapter): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (adapter.updateMode().mode !== "live") {
    if (Date.now() > deadline) throw new Error("the hub did not go live");
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (require.main === module) {
  benchZooKeeper().then(
    (r) => {
      console.log(JSON.stringify(r, null, 1));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
