// The `multi` section of `npm run bench`: one console holding four connections, one per store
// kind, each over ~100k lock keys (issue 13: server RSS ≤ 800 MB). Not in the default set (about
// 3 minutes on 2 shared cores, 8 with BENCH_MULTI_ALONE=1); run it with `npm run bench -- multi`.
// Real redis-server, etcd, Consul and ZooKeeper started here, loaded by the other sections' writers:
//   Redis      100k keys of the Redis section's mix (redis-data.ts), TTLs of an hour or two;
//   etcd       100k keys in the Go Mutex layout (90k locks) on 1,000 leases (etcd.ts);
//   Consul     100k held keys under bench-big/ on 100 sessions, maxKeysPerPrefix raised as consul.ts
//              does for its 100k row (the default 50k refuses the prefix);
//   ZooKeeper  100k contender nodes: 10k Curator lock dirs × 10 (zookeeper.ts), within the default
//              maxChildren (10k); place i in every queue is session i's (10 sessions).
// Then the product (`next start`, history recorder on as shipped): RSS of its process tree as each
// connection goes live, when all are, after 30 s and 60 s with nothing changing, and 120 s after live (judged).

import { Etcd3 } from "etcd3";
import { startEtcd } from "../servers/etcd";
import { startConsul } from "../servers/consul";
import { startZooKeeper } from "../servers/zookeeper";
import { ConsulConnectionSchema } from "../../lib/stores/consul/config";
import { ConsulHttp } from "../../lib/stores/consul/http";
import { ZkSession } from "../../lib/stores/zookeeper/client";
import { redisVersion } from "./redis-data";
import { writeEtcdLocks, PREFIX as ETCD_PREFIX } from "./etcd";
import { BIG_PREFIX as CONSUL_PREFIX, consulVersion, writeConsulLocks } from "./consul";
import { writeZooKeeperLocks, zooKeeperVersion } from "./zookeeper";
import { ensureBuild, processTreeCpuMs, startProduct, type ConnectionConfig, type ProcRss } from "./product";
import { JUDGED_AFTER_MS, judgedReading, loadLocks, recordRss, rssSummary, withDefaultRedis } from "./redis-parts";
import { median, ms, since } from "./stats";
import { load1, note, part, record, setVersion } from "./report";

const KEYS = 100_000;
const ETCD_LEASES = 1_000;
const CONSUL_SESSIONS = 100;
const ZK = { dirs: 10_000, perDir: 10 };
/** Long enough that no Redis key expires during the section (an expiry would change the count). */
const TTL_SEC: [number, number] = [3_600, 7_200];
const LIVE_TIMEOUT_MS = 5 * 60_000;
const IDLE_MS = 30_000;
const HELD_EVERY_MS = 10_000;
const HELD_SAMPLES = 6;
const RSS_TARGET_MB = 800;
export const MULTI_RSS_PART = "4 connections × 100k (one per store kind): server RSS";

interface Loaded {
  config: ConnectionConfig;
  /** The lock count /api/connections must report for this connection. */
  locks: number;
  /** What the store holds, for the rows. */
  what: string;
}

/** Runs `fn`, logs how long it took; the duration goes into the section's data note. */
async function timed<T>(what: string, took: string[], fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await fn();
  took.push(`${what} ${ms(since(t0))}`);
  console.log(`  ${what}: written in ${ms(since(t0))}; load ${load1()}`);
  return r;
}

export async function runMulti(): Promise<void> {
  await withDefaultRedis("multi", how(), async (redisServer, redis) => {
    // Stopped in reverse order after the console (the ZooKeeper session owns the ephemeral contenders).
    const cleanup: Array<() => unknown> = [];
    try {
      const etcd = await startEtcd({ args: ["--quota-backend-bytes", String(4 * 1024 ** 3)] });
      cleanup.push(() => etcd.stop());
      const etcdClient = new Etcd3({ hosts: etcd.endpoint });
      cleanup.push(() => etcdClient.close());
      const consul = await startConsul({ mode: "server" });
      cleanup.push(() => consul.stop());
      const consulConfig = { id: "consul", kind: "consul", url: consul.url, prefixes: [CONSUL_PREFIX], maxKeysPerPrefix: 2 * KEYS };
      const consulClient = new ConsulHttp(ConsulConnectionSchema.parse(consulConfig));
      cleanup.push(() => consulClient.close());
      const zk = await startZooKeeper({ heapMb: 1024 });
      cleanup.push(() => zk.stop());
      // One session per queue place (contender i of every dir is session i's): a lock's holder and
      // its waiters are different clients, as in production, not one session queued behind itself.
      const zkSessions: ZkSession[] = [];
      for (let i = 0; i < ZK.perDir; i++) {
        const session = new ZkSession({ connectString: zk.address, sessionTimeoutMs: 10_000, auth: [] }, 30_000);
        cleanup.push(() => session.close());
        await session.connected();
        zkSessions.push(session);
      }

      setVersion(
        "multi",
        `redis-server ${await redisVersion(redis)} (default config: no keyspace events), etcd ${(await etcdClient.maintenance.status()).version}, Consul ${await consulVersion(consulClient)} (single server), ZooKeeper ${await zooKeeperVersion(zk.port)}; all local, loopback`,
      );
      const took: string[] = [];
      await timed(`Redis ${KEYS / 1000}k keys`, took, () => loadLocks(redis, KEYS, TTL_SEC));
      const etcdData = await timed(`etcd ${KEYS / 1000}k keys`, took, () => writeEtcdLocks(etcdClient, KEYS, ETCD_LEASES));
      await timed(`Consul ${KEYS / 1000}k keys`, took, () => writeConsulLocks(consulClient, KEYS, CONSUL_SESSIONS, CONSUL_PREFIX));
      await timed(`ZooKeeper ${(ZK.dirs * ZK.perDir) / 1000}k nodes`, took, () => writeZooKeeperLocks(zkSessions[0], ZK.dirs, ZK.perDir, zkSessions));
      note(`Data written (sequentially, before the console started): ${took.join(", ")}.`);

      const stores: Loaded[] = [
        {
          config: { id: "redis", kind: "redis", url: redisServer.url, notifications: "use" },
          locks: KEYS,
          what: `${KEYS / 1000}k keys = ${KEYS / 1000}k locks`,
        },
        {
          config: { id: "etcd", kind: "etcd", endpoints: [etcd.endpoint], prefixes: [ETCD_PREFIX] },
          locks: etcdData.locks,
          what: `${etcdData.keys.length / 1000}k keys = ${etcdData.locks / 1000}k locks`,
        },
        { config: consulConfig, locks: KEYS, what: `${KEYS / 1000}k keys = ${KEYS / 1000}k locks` },
        {
          config: { id: "zookeeper", kind: "zookeeper", connectString: zk.address, roots: ["/locks"] },
          locks: ZK.dirs,
          what: `${(ZK.dirs * ZK.perDir) / 1000}k nodes = ${ZK.dirs / 1000}k locks × ${ZK.perDir} contenders of ${ZK.perDir} sessions`,
        },
      ];

      const build = await ensureBuild(process.env.BENCH_REBUILD === "1");
      note(`Product build: ${build}.`);
      console.log(`  ${build}`);
      await consoleParts(stores);
      if (process.env.BENCH_MULTI_ALONE === "1") for (const store of stores) await part(`${store.config.id} alone`, "—", () => alone(store));
    } finally {
      for (const stop of cleanup.reverse()) {
        try {
          await stop();
        } catch (err) {
          console.error(`  cleanup: ${(err as Error).message}`);
        }
      }
    }
  });
}

async function consoleParts(stores: Loaded[]): Promise<void> {
  const t0 = performance.now();
  const ui = await startProduct(
    stores.map((s) => s.config),
    { nodeArgs: (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean) },
  );
  try {
    const pid = ui.server!.pid;
    const up = { ms: since(t0), rss: ui.rss()! };
    console.log(`  console: ${ui.label}, answering after ${ms(up.ms)}: ${rssSummary(up.rss).text}`);
    const live: Array<{ store: Loaded; ms: number; rss: ProcRss[] }> = [];
    await Promise.all(
      stores.map(async (store) => {
        await ui.waitLive(store.locks, LIVE_TIMEOUT_MS, store.config.id);
        live.push({ store, ms: since(t0), rss: ui.rss()! });
        console.log(`  ${store.config.id} live with ${store.locks} locks ${ms(since(t0))} after start: ${rssSummary(live.at(-1)!.rss).text}; load ${load1()}`);
      }),
    );
    const atLive = ui.rss();
    const liveAt = performance.now();
    const cpu0 = processTreeCpuMs(pid);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const after30 = ui.rss();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const after60 = ui.rss();
    const idleCores = (processTreeCpuMs(pid) - cpu0) / (2 * IDLE_MS);
    const judged = await judgedReading(ui, liveAt);
    // The judged reading is one moment of a sawtooth (idle allocation, then a GC): what the
    // next minutes look like, for whoever reads the figure.
    const held: number[] = [];
    for (let i = 0; i < HELD_SAMPLES; i++) {
      await new Promise((r) => setTimeout(r, HELD_EVERY_MS));
      held.push(rssSummary(ui.rss()!).totalKb / 1024);
    }

    recordRss(
      MULTI_RSS_PART,
      [["at live (all four)", atLive], [`after ${IDLE_MS / 1000} s idle`, after30], [`after ${(2 * IDLE_MS) / 1000} s idle`, after60], judged],
      RSS_TARGET_MB,
    );
    const sorted = [...held].sort((a, b) => a - b);
    record({
      part: `4 connections: server RSS while holding, the ${(HELD_SAMPLES * HELD_EVERY_MS) / 60_000} minute after the judged reading (diagnostic)`,
      result: `every ${HELD_EVERY_MS / 1000} s: min ${Math.round(sorted[0])} MB, median ${Math.round(median(held))} MB, max ${Math.round(sorted.at(-1)!)} MB (${held.map((x) => Math.round(x)).join(", ")}); load ${load1()}`,
      target: "—",
      verdict: "—",
    });
    const total = (procs: ProcRss[]) => rssSummary(procs).totalKb;
    let previous = total(up.rss);
    const steps = live.map(({ store, ms: at, rss }) => {
      const kb = total(rss);
      const step = `**${store.config.id}** (${store.what}) live after ${(at / 1000).toFixed(1)} s: ${Math.round(kb / 1024)} MB (${kb >= previous ? "+" : "−"}${Math.round(Math.abs(kb - previous) / 1024)})`;
      previous = kb;
      return step;
    });
    record({
      part: "4 connections: server RSS as each connection went live (diagnostic)",
      result: `server answering ${(up.ms / 1000).toFixed(1)} s after spawn: ${Math.round(total(up.rss) / 1024)} MB; then, in the order they went live: ${steps.join("; ")}. All four load at once, so a step is that connection's going live plus what the others did meanwhile. Server CPU over the ${(2 * IDLE_MS) / 1000} s idle: ${idleCores.toFixed(2)} cores; load ${load1()}`,
      target: "—",
      verdict: "—",
    });
  } finally {
    if (process.env.BENCH_HOLD_MS) await new Promise((r) => setTimeout(r, Number(process.env.BENCH_HOLD_MS)));
    await ui.stop();
  }
}

/**
 * Diagnostic (BENCH_MULTI_ALONE=1): a console with only this store's connection, to show what
 * each store costs on its own; RSS when live and after 30 s and 60 s idle.
 */
async function alone(store: Loaded): Promise<void> {
  const t0 = performance.now();
  const ui = await startProduct([store.config]);
  try {
    await ui.waitLive(store.locks, LIVE_TIMEOUT_MS, store.config.id);
    const toLive = since(t0);
    const atLive = ui.rss();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const after30 = ui.rss();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    recordRss(
      `${store.config.id} alone (${store.what}): server RSS (diagnostic; live after ${(toLive / 1000).toFixed(1)} s)`,
      [
        ["at live", atLive],
        [`after ${IDLE_MS / 1000} s idle`, after30],
        [`after ${(2 * IDLE_MS) / 1000} s idle`, ui.rss()],
      ],
      null,
    );
  } finally {
    await ui.stop();
  }
}

function how(): string {
  return `### 4 connections × 100k (scripts/bench/multi.ts; \`npm run bench -- multi\`, not in the default set)

- **Stores and data.** A default redis-server (no keyspace events), etcd 3.4 (one member), Consul (one server, not -dev)
  and ZooKeeper (standalone), each started fresh, loaded by the other sections' data writers: Redis ${KEYS / 1000}k keys of the
  Redis section's mix (TTLs ${TTL_SEC.join("..")} s); etcd ${KEYS / 1000}k keys in the Go Mutex layout (90% of them locks, the rest
  waiters) on ${ETCD_LEASES} leases; Consul ${KEYS / 1000}k held keys under \`${CONSUL_PREFIX}\` on ${CONSUL_SESSIONS} sessions (maxKeysPerPrefix ${2 * KEYS}: the
  default, 50k, refuses the prefix); ZooKeeper ${(ZK.dirs * ZK.perDir) / 1000}k ephemeral-sequential contender nodes in ${ZK.dirs / 1000}k Curator lock dirs
  (${ZK.perDir} each: ${ZK.dirs / 1000}k locks, within the default maxChildren of 10k), place i in every queue created by session i of
  ${ZK.perDir}: session 0 holds every lock, sessions 1–${ZK.perDir - 1} each wait in every queue.
- **Console.** The product (\`next start\`, the history recorder on, as shipped) with one connection per store, every
  other setting at its default. It counts as live when \`/api/connections\` reports each connection live, ok and with
  its full lock count (polled every 100 ms, ${LIVE_TIMEOUT_MS / 60_000} min deadline).
- **RSS.** VmRSS of the \`next start\` process and its descendants (/proc), read when all four were live and after
  ${IDLE_MS / 1000} s and ${(2 * IDLE_MS) / 1000} s with nothing changing, and ${JUDGED_AFTER_MS / 1000} s after live; the last is judged (V8's first idle GC came
  45–60 s after the start-up's last allocation, so the 60 s reading, judged until 2026-12-05 09:00, fell on either side of it),
  and the start-up peak (VmHWM) is in the row. A diagnostic row reads it every ${HELD_EVERY_MS / 1000} s for ${(HELD_SAMPLES * HELD_EVERY_MS) / 60_000} minute more
  (an idle console's RSS is a sawtooth of allocation and GC). The other diagnostic row reads the RSS when
  the server first answered and as each connection went live; the four connections start together, so a step between
  two readings is not that connection's cost alone. With \`BENCH_MULTI_ALONE=1\` the section then starts one console per
  store with only that connection (RSS at live, after ${IDLE_MS / 1000} s and ${(2 * IDLE_MS) / 1000} s; about 5 minutes more).`;
}
