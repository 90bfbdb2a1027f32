// Profiles of the Redis read path, to see where time and memory go before changing anything:
//   npx tsx scripts/bench/profile.ts cpu [N]     CPU profile of one RedisAdapter.snapshot() over N keys
//                                                (default 100k): top functions by self and inclusive
//                                                time, commands sent, and the phases timed apart;
//                                                writes snapshot.cpuprofile (Chrome DevTools, speedscope)
//   npx tsx scripts/bench/profile.ts heap [N]    a Hub holding N locks: heap used per lock after GC,
//                                                RSS, and the heap's make-up by constructor (from a
//                                                heap snapshot, written to hub.heapsnapshot)
//   npx tsx scripts/bench/profile.ts fences [N]  what building the fence of N records costs
//   npx tsx scripts/bench/profile.ts recorder [N] a Hub and the history recorder (SQLite) from start
//                                                through the first flush: times, CPU profile
//                                                (recorder.cpuprofile), heap and RSS held
//   npx tsx scripts/bench/profile.ts etcd|consul|zookeeper [N]
//                                                CPU profile of one snapshot of that store over the
//                                                bench's data (N keys: etcd 100k, the others 10k),
//                                                then three floor/snapshot pairs; $TMPDIR/<kind>-snapshot.cpuprofile
// Each against a server started here, loaded with that store's bench data (Redis: scripts/bench/redis-data.ts).

import Redis from "ioredis";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import { Session } from "node:inspector/promises";
import { startRedis } from "../servers/redis";
import { waitFor } from "../servers/process";
import { RedisAdapter } from "../../lib/stores/redis/adapter";
import { RedisConnectionSchema } from "../../lib/stores/redis/config";
import { scanAndRead } from "../../lib/stores/redis/scan";
import { decodeRedis } from "../../lib/formats/redis";
import type { RedisEntry } from "../../lib/formats/redis/entry";
import { LargeValues } from "../../lib/stores/redis/read";
import { Hub } from "../../lib/hub/hub";
import { EventBus } from "../../lib/hub/bus";
import { Recorder } from "../../lib/history/recorder";
import { decodeFence, encodeFence, fenceOf } from "../../lib/fence";
import { serverCounters, writeLocks } from "./redis-data";
import { redisFloorRead } from "./redis-floor";
import { collectGarbage, mb, median, ms, since } from "./stats";
import { Etcd3 } from "etcd3";
import { startEtcd } from "../servers/etcd";
import { startConsul } from "../servers/consul";
import { startZooKeeper } from "../servers/zookeeper";
import { EtcdAdapter } from "../../lib/stores/etcd/adapter";
import { EtcdConnectionSchema } from "../../lib/stores/etcd/config";
import { ConsulAdapter } from "../../lib/stores/consul/adapter";
import { ConsulConnectionSchema } from "../../lib/stores/consul/config";
import { ConsulHttp, kvPath } from "../../lib/stores/consul/http";
import { ZooKeeperAdapter } from "../../lib/stores/zookeeper/adapter";
import { ZooKeeperConnectionSchema } from "../../lib/stores/zookeeper/config";
import { ZkSession } from "../../lib/stores/zookeeper/client";
import { PREFIX as ETCD_PREFIX, etcdFloorRead, writeEtcdLocks } from "./etcd";
import { PREFIX as CONSUL_PREFIX, writeConsulLocks } from "./consul";
import { multiReadFloor, writeZooKeeperLocks } from "./zookeeper";
import { HISTORY_SETTINGS } from "../../test/support/history";

const gc = collectGarbage;

const FLOOR = { values: "MGET", scanCount: 2000, inFlight: 4 } as const;
const cfgFor = (url: string) => RedisConnectionSchema.parse({ id: "bench", kind: "redis", url });

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}

async function cpu(redis: Redis, url: string): Promise<void> {
  const adapter = new RedisAdapter("bench", cfgFor(url));
  const session = new Session();
  try {
    await adapter.snapshot(new AbortController().signal); // warm-up
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
    const t0 = performance.now();
    const snap = await adapter.snapshot(new AbortController().signal);
    const took = since(t0);
    const { profile } = await session.post("Profiler.stop");
    fs.writeFileSync("snapshot.cpuprofile", JSON.stringify(profile));
    const { all, top } = summarizeProfile(profile.nodes as ProfileNode[]);
    console.log(`snapshot of ${snap.locks.length} locks: ${ms(took)} (profiled); ${all} samples`);
    console.log(`top self time:\n${top("self", 25)}`);
    console.log(`inclusive time, LockDeck code (lib/):\n${top("total", 20, (f) => f.includes(" lib/"))}`);
    console.log(`inclusive time, ioredis:\n${top("total", 8, (f) => f.includes("ioredis"))}`);

    // The same work in phases, unprofiled: floor, discovery + reads (scan.ts/read.ts), decode.
    const signal = new AbortController().signal;
    const commands = async (fn: () => Promise<unknown>) => {
      const before = await serverCounters(redis);
      await fn();
      const after = await serverCounters(redis);
      const d = [...after.calls].map(([c, x]) => [c, x - (before.calls.get(c) ?? 0) - (c === "info" ? 1 : 0)] as const).filter(([, x]) => x > 0);
      return `${d.reduce((a, [, x]) => a + x, 0)} (${d.map(([c, x]) => `${c} ${x}`).join(", ")})`;
    };
    console.log(`commands sent: floor ${await commands(() => redisFloorRead(redis, FLOOR))}`);
    console.log(`commands sent: snapshot ${await commands(() => adapter.snapshot(signal))}`);
    for (let r = 0; r < 3; r++) {
      gc();
      let t = performance.now();
      await redisFloorRead(redis, FLOOR);
      const floor = since(t);
      gc();
      t = performance.now();
      const entries: RedisEntry[] = [];
      await scanAndRead(
        redis,
        () => true,
        { cap: 64 * 1024, multiGet: new LargeValues() },
        (page) => void entries.push(...page.entries),
        signal,
      );
      const readMs = since(t);
      t = performance.now();
      decodeRedis(entries, { connection: "bench", consistency: "primary", now: Date.now() });
      const decodeMs = since(t);
      gc();
      t = performance.now();
      await adapter.snapshot(signal);
      console.log(
        `phases: floor ${ms(floor)} | scanAndRead (kept) ${ms(readMs)} + decodeRedis ${ms(decodeMs)} | whole snapshot (decoding as pages arrive) ${ms(since(t))}`,
      );
    }
  } finally {
    session.disconnect();
    await adapter.close();
  }
}

/**
 * What the history recorder adds to a hub's start-up with N locks: a CPU profile from the hub's
 * start to live and through the recorder's first flush (SQLite in a temporary directory), the
 * time of each, and heap and RSS held after GC. Writes recorder.cpuprofile.
 */
async function recorder(url: string, n: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockdeck-profile-"));
  gc();
  const base = process.memoryUsage();
  const bus = new EventBus();
  const hub = new Hub("bench", new RedisAdapter("bench", cfgFor(url)), bus);
  const rec = new Recorder(
    bus,
    { records: (id) => (id === "bench" ? hub.all() : undefined), get: (id, key) => (id === "bench" ? hub.get(key) : undefined) },
    {
      dataDir: dir,
      settings: HISTORY_SETTINGS,
      flushEveryMs: 3_600_000,
    },
  ).start();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  try {
    const t0 = performance.now();
    hub.start();
    await waitFor(async () => hub.statusEvent().lockCount === n && hub.statusEvent().status === "ok", { timeoutMs: 300_000, what: `hub holding ${n} locks` });
    const live = since(t0);
    const peak = process.memoryUsage();
    // The recorder derives the first snapshot in slices after live: flush until all of it is written.
    const t1 = performance.now();
    while (rec.state().written < n) {
      await rec.flush();
      await new Promise((r) => setImmediate(r));
    }
    const written = since(t1);
    const { profile } = await session.post("Profiler.stop");
    fs.writeFileSync("recorder.cpuprofile", JSON.stringify(profile));
    const { all, top } = summarizeProfile(profile.nodes as ProfileNode[]);
    console.log(
      `hub + recorder: live with ${n} locks after ${ms(live)}; the first snapshot's ${rec.state().written} events written ${ms(written)} later; ${all} samples`,
    );
    console.log(`top self time:\n${top("self", 20)}`);
    console.log(`inclusive time, LockDeck code (lib/):\n${top("total", 25, (f) => f.includes(" lib/"))}`);
    await new Promise((r) => setTimeout(r, 3_000));
    gc();
    gc();
    const held = process.memoryUsage();
    console.log(
      `heap used: base ${mb(base.heapUsed / 1024)}, at live ${mb(peak.heapUsed / 1024)}, held after GC ${mb(held.heapUsed / 1024)} → ${((held.heapUsed - base.heapUsed) / n / 1024).toFixed(2)} KiB per lock`,
    );
    console.log(`RSS: base ${mb(base.rss / 1024)}, at live ${mb(peak.rss / 1024)}, held ${mb(held.rss / 1024)}; external ${mb(held.external / 1024)}`);
  } finally {
    session.disconnect();
    await rec.stop();
    await hub.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Self and inclusive samples per function of a CPU profile (inclusive counted once per stack). */
function summarizeProfile(list: ProfileNode[]) {
  const nodes = new Map(list.map((x) => [x.id, x]));
  const name = (x: ProfileNode) => `${x.callFrame.functionName || "(anonymous)"} ${x.callFrame.url.replace(/^.*?\/(node_modules|lib)\//, "$1/")}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  const walk = (x: ProfileNode, onStack: Set<string>) => {
    const f = name(x);
    const hits = x.hitCount ?? 0;
    all += hits;
    self.set(f, (self.get(f) ?? 0) + hits);
    const stack = new Set(onStack).add(f);
    for (const g of stack) total.set(g, (total.get(g) ?? 0) + hits);
    for (const c of x.children ?? []) walk(nodes.get(c)!, stack);
  };
  walk(list[0], new Set());
  const top = (which: "self" | "total", k: number, only = (_f: string) => true) =>
    [...(which === "self" ? self : total)]
      .filter(([f]) => only(f))
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([f, h]) => `  ${((100 * h) / all).toFixed(1).padStart(5)}%  ${f}`)
      .join("\n");
  return { all, top };
}

/** Heap used (after GC) by a hub holding the locks, and what the heap is made of. */
async function heap(url: string, n: number): Promise<void> {
  gc();
  const base = process.memoryUsage();
  const bus = new EventBus();
  const hub = new Hub("bench", new RedisAdapter("bench", cfgFor(url)), bus);
  const t0 = performance.now();
  hub.start();
  try {
    await waitFor(async () => hub.statusEvent().lockCount === n && hub.statusEvent().status === "ok", { timeoutMs: 300_000, what: `hub holding ${n} locks` });
    const ready = since(t0);
    const peak = process.memoryUsage();
    // Let the start-up settle (a second pass, if the feed asks for one), then measure.
    await new Promise((r) => setTimeout(r, 3_000));
    gc();
    gc();
    const held = process.memoryUsage();
    const perLock = (held.heapUsed - base.heapUsed) / n;
    console.log(`hub holding ${n} locks after ${ms(ready)} (mode ${hub.statusEvent().mode})`);
    console.log(
      `heap used: base ${mb(base.heapUsed / 1024)}, just after the first snapshot ${mb(peak.heapUsed / 1024)}, held after GC ${mb(held.heapUsed / 1024)} → ${(perLock / 1024).toFixed(2)} KiB per lock`,
    );
    console.log(
      `RSS: base ${mb(base.rss / 1024)}, after the first snapshot ${mb(peak.rss / 1024)}, held ${mb(held.rss / 1024)}; external ${mb(held.external / 1024)}, arrayBuffers ${mb(held.arrayBuffers / 1024)}`,
    );
    if (n <= 50_000) {
      const file = v8.writeHeapSnapshot("hub.heapsnapshot");
      console.log(`heap make-up (self size by constructor, from ${file}):\n${summarizeHeap(file, 25)}`);
    } else console.log("(heap snapshot only for N ≤ 50k: the file and its parse grow with the heap)");
  } finally {
    await hub.stop();
  }
}

/** Self size and count per (node type, constructor name), largest first. */
function summarizeHeap(file: string, k: number): string {
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const f = snap.snapshot.meta.node_fields;
  const width = f.length;
  const [iType, iName, iSize] = [f.indexOf("type"), f.indexOf("name"), f.indexOf("self_size")];
  const types = snap.snapshot.meta.node_types[0];
  const by = new Map<string, { size: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]];
    const name = type === "string" || type === "concatenated string" || type === "sliced string" ? `(${type})` : snap.strings[snap.nodes[i + iName]];
    const key = `${type}: ${name.slice(0, 60)}`;
    const size = snap.nodes[i + iSize];
    total += size;
    const e = by.get(key) ?? { size: 0, count: 0 };
    e.size += size;
    e.count++;
    by.set(key, e);
  }
  return [...by]
    .sort((a, b) => b[1].size - a[1].size)
    .slice(0, k)
    .map(([key, e]) => `  ${((100 * e.size) / total).toFixed(1).padStart(5)}%  ${mb(e.size / 1024).padStart(7)}  ${String(e.count).padStart(8)}×  ${key}`)
    .join("\n");
}

/** The cost of making every record's fence (signed JSON per record), as fences were made at read time before they were made on demand. */
async function fences(url: string): Promise<void> {
  const adapter = new RedisAdapter("bench", cfgFor(url));
  try {
    const snap = await adapter.snapshot(new AbortController().signal);
    const holdings = snap.locks.map((l) => decodeFence(fenceOf(l)));
    const times: number[] = [];
    let bytes = 0;
    for (let r = 0; r < 5; r++) {
      gc();
      const t = performance.now();
      bytes = 0;
      for (const h of holdings) bytes += encodeFence("bench", h.k, h.f, h.h).length;
      times.push(since(t));
    }
    console.log(
      `fences for ${holdings.length} records: ${ms(median(times))} median of 5 (${times.map((x) => x.toFixed(0)).join(", ")} ms); ` +
        `${(bytes / holdings.length).toFixed(0)} characters each, ${mb(bytes / 1024)} of strings held if kept on every record`,
    );
  } finally {
    await adapter.close();
  }
}

/**
 * CPU profile of one call of `fn` (a snapshot): writes $TMPDIR/<name>.cpuprofile (Chrome
 * DevTools, speedscope) and prints the top functions by self and inclusive time, LockDeck's own
 * (lib/) and each named library's, and how much of the time was idle (waiting on the store).
 */
async function profiled(name: string, fn: () => Promise<{ locks: unknown[] }>, libraries: string[]): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    await session.post("Profiler.start");
    const t0 = performance.now();
    const snap = await fn();
    const took = since(t0);
    const { profile } = await session.post("Profiler.stop");
    const file = path.join(os.tmpdir(), `${name}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    const list = profile.nodes as ProfileNode[];
    const { all, top } = summarizeProfile(list);
    const idle = list.filter((x) => x.callFrame.functionName === "(idle)").reduce((s, x) => s + (x.hitCount ?? 0), 0);
    console.log(
      `${name} of ${snap.locks.length} locks: ${ms(took)} (profiled, ${file}); ${all} samples, ${((100 * idle) / all).toFixed(0)}% idle (waiting on the store)`,
    );
    console.log(`top self time:\n${top("self", 25)}`);
    console.log(`inclusive time, LockDeck code (lib/):\n${top("total", 20, (f) => f.includes(" lib/"))}`);
    for (const l of libraries) console.log(`inclusive time, ${l}:\n${top("total", 8, (f) => f.includes(l))}`);
  } finally {
    session.disconnect();
  }
}

/** The other stores: one warm-up snapshot, one profiled, then a few timed against the bench's floor read. */
async function store(kind: string, n: number): Promise<void> {
  const signal = new AbortController().signal;
  const timed = async (what: string, floor: () => Promise<unknown>, snapshot: () => Promise<unknown>) => {
    for (let r = 0; r < 3; r++) {
      let t = performance.now();
      await floor();
      const f = since(t);
      t = performance.now();
      await snapshot();
      console.log(`${what} round ${r + 1}: floor ${ms(f)}, snapshot ${ms(since(t))}`);
    }
  };
  if (kind === "etcd") {
    const etcd = await startEtcd({ args: ["--quota-backend-bytes", String(4 * 1024 ** 3)] });
    const raw = new Etcd3({ hosts: etcd.endpoint });
    const adapter = new EtcdAdapter("bench", EtcdConnectionSchema.parse({ id: "bench", kind: "etcd", endpoints: [etcd.endpoint], prefixes: [ETCD_PREFIX] }));
    try {
      await writeEtcdLocks(raw, n, 1_000);
      await adapter.snapshot(signal);
      await profiled("etcd-snapshot", () => adapter.snapshot(signal), ["etcd3", "grpc", "protobuf"]);
      await timed(
        "etcd",
        () => etcdFloorRead(raw, 10_000, signal),
        () => adapter.snapshot(signal),
      );
    } finally {
      await adapter.close();
      raw.close();
      await etcd.stop();
    }
  } else if (kind === "consul") {
    const consul = await startConsul({ mode: "server" });
    const cfg = ConsulConnectionSchema.parse({ id: "bench", kind: "consul", url: consul.url, prefixes: [CONSUL_PREFIX], maxKeysPerPrefix: 2 * n });
    const raw = new ConsulHttp(cfg);
    const adapter = new ConsulAdapter("bench", cfg);
    try {
      await writeConsulLocks(raw, n, 100);
      await adapter.snapshot(signal);
      await profiled("consul-snapshot", () => adapter.snapshot(signal), ["node:"]);
      const floor = async () =>
        JSON.parse((await raw.call("GET", kvPath(CONSUL_PREFIX), { query: { recurse: true }, signal })).body.toString("utf8")) as unknown;
      await timed("consul", floor, () => adapter.snapshot(signal));
    } finally {
      await adapter.close();
      await consul.stop();
    }
  } else {
    const zk = await startZooKeeper({ heapMb: 512 });
    const raw = new ZkSession({ connectString: zk.address, sessionTimeoutMs: 10_000, auth: [] }, 30_000);
    const adapter = new ZooKeeperAdapter(
      "bench",
      ZooKeeperConnectionSchema.parse({ id: "bench", kind: "zookeeper", connectString: zk.address, roots: ["/locks"] }),
    );
    try {
      await raw.connected();
      await writeZooKeeperLocks(raw, n / 10, 10);
      await adapter.snapshot(signal);
      await profiled("zookeeper-snapshot", () => adapter.snapshot(signal), ["zookeeper/client", "jute"]);
      await timed(
        "zookeeper",
        () => multiReadFloor(raw, "/locks", 128, 8),
        () => adapter.snapshot(signal),
      );
    } finally {
      await adapter.close();
      raw.close();
      await zk.stop();
    }
  }
}

async function main(): Promise<void> {
  const what = process.argv[2] ?? "cpu";
  const n = Number(process.argv[3] ?? (what === "consul" || what === "zookeeper" ? 10_000 : 100_000));
  if (what === "etcd" || what === "consul" || what === "zookeeper") {
    await store(what, n);
    process.exit(0);
  }
  const server = await startRedis();
  const redis = new Redis(server.url);
  try {
    await writeLocks(redis, n, [600, 1200]);
    if (what === "cpu") await cpu(redis, server.url);
    else if (what === "heap") await heap(server.url, n);
    else if (what === "fences") await fences(server.url);
    else if (what === "recorder") await recorder(server.url, n);
    else throw new Error(`unknown profile "${what}": cpu, heap, fences or recorder`);
  } finally {
    redis.disconnect();
    await server.stop();
  }
  process.exit(0);
}

void main();
