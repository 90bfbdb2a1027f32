// `npm run bench`: LockDeck's performance figures against real servers started here, in one run:
//   Redis (redis-server):
//     1. snapshot cost: raw floor (SCAN + pipelined PTTL/GET) vs the decoded adapter.snapshot()
//     2. store write -> SSE `upsert` latency through the real server (`next start`)
//     3. idle cost: commands/minute the console sends while nothing changes
//     4. server RSS holding 100k locks
//     5. lock-table API latency at 100k rows
//   etcd (etcd.ts), ZooKeeper (zookeeper.ts), Consul (consul.ts): snapshot vs the raw read floor,
//     watch -> hub upsert latency (in-process EventBus), idle cost;
//   history (history.ts): recorder overhead at 1,000 lock events per second.
// `npm run bench -- redis etcd` runs a subset (names: redis, etcd, zookeeper|zk, consul, history;
// default all). Prints as it goes, then markdown tables, and writes docs/benchmarks.md.
// The product is rebuilt when .next is missing or older than a source file (BENCH_REBUILD=1 forces
// it); if it cannot be built, Redis parts 2-5 run in-process and say so. BENCH_INPROC=1 skips the server.

import Redis from "ioredis";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { startRedis, type RedisServer } from "../servers/redis";
import { waitFor } from "../servers/process";
import { RedisAdapter } from "../../lib/stores/redis/adapter";
import { RedisConnectionSchema } from "../../lib/stores/redis/config";
import { createRng } from "../../lib/demo/prng";
import { rawFloor, redisVersion, serverCounters, writeLocks, type Mix } from "./redis-data";
import { CONNECTION, ROOT, ensureBuild, startInProcess, startProduct, type ConsoleUnderTest, type ProcRss } from "./product";
import { mb, median, ms, percentile, since } from "./stats";
import { runEtcdBench } from "./etcd";
import { benchZooKeeper, ZK_SNAPSHOT_TARGET } from "./zookeeper";
import { runConsulBench } from "./consul";
import { benchHistory } from "./history";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const SIZES = [10_000, 100_000];
const ROUNDS: Record<number, number> = { 10_000: 5, 100_000: 5 };
const BIG = 100_000;
const IDLE_MS = 30_000;
const LAT_WRITES = 200;
const LAT_SPACING_MS = 20;
const TABLE_REQUESTS = 50;
const TABLE_FILTER = "payments"; // one service in eight
/**
 * Lock TTLs, uniform. Long enough that no key expires during the run: an expiry is a real change
 * (the idle window must have none, and floor and snapshot must read the same keys). On a busy
 * machine the 100k rounds alone took over a minute, so 60..600 s keys were expiring mid-run.
 * The read cost does not depend on the TTL value.
 */
const TTL_SEC: [number, number] = [600, 1200];

// The other stores: fewer repeats than Redis, to keep the whole run near 10 minutes on 2 cores.
const ETCD = { keys: 100_000, leases: 1_000, rounds: 5, latencyWrites: 200, idleMs: 30_000 };
const ZK = { dirs: 1_000, perDir: 10, rounds: 5, latencyWrites: 100, idleMs: 30_000 };
// 65 s: longer than Consul's default blocking wait (60 s + up to 1/16 jitter), so the window
// shows what a quiet console really sends, re-issued blocking queries included.
const CONSUL = { keys: 10_000, sessions: 100, rounds: 5, latencyWrites: 200, idleMs: 65_000 };
const HISTORY = { rate: 1_000, seconds: 10, locks: 200 };

type SectionId = "redis" | "etcd" | "zookeeper" | "consul" | "history";
const SECTIONS: Array<{ id: SectionId; title: string }> = [
  { id: "redis", title: "Redis" },
  { id: "etcd", title: "etcd" },
  { id: "zookeeper", title: "ZooKeeper" },
  { id: "consul", title: "Consul" },
  { id: "history", title: "History recorder" },
];
const ALIASES: Record<string, SectionId> = { redis: "redis", etcd: "etcd", zookeeper: "zookeeper", zk: "zookeeper", consul: "consul", history: "history" };

type Verdict = "met" | "MISSED" | "—" | "FAILED" | "not measured";
interface Row {
  part: string;
  result: string;
  target: string;
  verdict: Verdict;
}

const rows = new Map<SectionId, Row[]>(SECTIONS.map((s) => [s.id, []]));
let section: SectionId = "redis";
/** Appended to parts 2-5 when they ran in the fallback (no product server). */
let where = "";
const notes: string[] = [];
const versions = new Map<SectionId, string>();
const ran: Array<{ id: SectionId; seconds: number; loadStart: string; loadEnd: string; ok: boolean }> = [];
const record = (r: Row) => {
  rows.get(section)!.push(r);
  console.log(`  => ${r.part}: ${r.result}${r.target !== "—" ? ` (target ${r.target}: ${r.verdict})` : ""}`);
};

async function part(name: string, target: string, fn: () => Promise<void>): Promise<void> {
  console.log(`\n## ${name}`);
  try {
    await fn();
  } catch (err) {
    process.exitCode = 1;
    console.error(`  FAILED: ${(err as Error).stack ?? err}`);
    record({ part: name, result: `failed: ${(err as Error).message.split("\n")[0]}`, target, verdict: "FAILED" });
  }
}

// ---- 1. snapshot vs raw floor ----------------------------------------------------------------

async function snapshotVsFloor(redis: Redis, url: string, n: number): Promise<void> {
  await redis.flushall();
  const t = performance.now();
  const mix = await writeLocks(redis, n, TTL_SEC);
  console.log(`  wrote ${n} keys in ${ms(since(t))} (${describeMix(mix)}; TTLs ${TTL_SEC.join("..")} s)`);
  const floorClient = new Redis(url);
  const adapter = new RedisAdapter(CONNECTION, RedisConnectionSchema.parse({ id: CONNECTION, kind: "redis", url }));
  const signal = new AbortController().signal;
  try {
    const floor = async () => {
      gc();
      const t0 = performance.now();
      const keys = await rawFloor(floorClient);
      const took = since(t0);
      if (keys !== n) throw new Error(`floor read ${keys} keys, expected ${n}`);
      return took;
    };
    const snapshot = async () => {
      gc();
      const t0 = performance.now();
      const snap = await adapter.snapshot(signal);
      const took = since(t0);
      if (snap.locks.length !== n) throw new Error(`snapshot decoded ${snap.locks.length} locks, expected ${n}`);
      if (snap.problems.length) throw new Error(`snapshot problems: ${JSON.stringify(snap.problems.slice(0, 3))}`);
      return took;
    };
    await floor(); // warm-up: connections, JIT
    await snapshot();
    const floors: number[] = [];
    const snaps: number[] = [];
    for (let r = 0; r < ROUNDS[n]; r++) {
      const order = r % 2 === 0 ? ["floor", "snapshot"] : ["snapshot", "floor"];
      for (const what of order) {
        if (what === "floor") floors.push(await floor());
        else snaps.push(await snapshot());
      }
      console.log(`  round ${r + 1}: floor ${ms(floors.at(-1)!)}, snapshot ${ms(snaps.at(-1)!)}`);
    }
    const ratio = median(snaps) / median(floors);
    // Paired per round: less sensitive to load that changes between rounds.
    const paired = snaps.map((x, i) => (x / floors[i]).toFixed(2)).join(", ");
    record({
      part: `1. snapshot vs raw floor, ${n / 1000}k keys (median of ${ROUNDS[n]})`,
      result: `floor ${ms(median(floors))} (${range(floors)}), snapshot ${ms(median(snaps))} (${range(snaps)}), ratio **${ratio.toFixed(2)}×** (per round: ${paired})`,
      target: n === BIG ? "≤ 1.3×" : "—",
      verdict: n === BIG ? (ratio <= 1.3 ? "met" : "MISSED") : "—",
    });
  } finally {
    floorClient.disconnect();
    await adapter.close();
  }
}

function range(xs: number[]): string {
  return `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
}

function describeMix(m: Mix): string {
  return `${m.tokens} SET PX tokens, ${m.redisson} Redisson hashes, ${m.noExpiry} without expiry`;
}

// ---- 2-5. against the running console ----------------------------------------------------------

/**
 * `second`: a further window right after the first, with no target of its own (diagnostic): it
 * shows whether reads seen in the first window repeat, or were a one-off just after going live.
 */
async function idleCost(redis: Redis, second = false): Promise<void> {
  const before = await serverCounters(redis);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_MS)); // the measurement window itself
  const after = await serverCounters(redis);
  const minutes = since(t0) / 60_000;
  const delta = new Map<string, number>();
  for (const [cmd, calls] of after.calls) {
    // Redis counts an INFO after running it: `before` is in the delta, `after` is not.
    const d = calls - (before.calls.get(cmd) ?? 0) - (cmd === "info" ? 1 : 0);
    if (d > 0) delta.set(cmd, d);
  }
  const total = [...delta.values()].reduce((a, b) => a + b, 0);
  const scans = delta.get("scan") ?? 0;
  const perMin = (x: number) => (x / minutes).toFixed(1);
  const breakdown = [...delta].sort((a, b) => b[1] - a[1]).map(([c, d]) => `${c} ${perMin(d)}`).join(", ") || "none";
  const expired = after.expiredKeys - before.expiredKeys;
  // Every lock key gets one PTTL per full read: PTTL calls / keys = how many full passes.
  const passes = (delta.get("pttl") ?? 0) / BIG;
  console.log(`  ${total} commands in ${(minutes * 60).toFixed(1)} s: ${breakdown} /min; keys expired meanwhile: ${expired}; ≈ ${passes.toFixed(2)} full passes`);
  const result = `${perMin(total)} commands/min (${breakdown}); SCAN **${perMin(scans)}/min**; ≈ ${passes.toFixed(2)} full passes over the ${BIG / 1000}k keys (PTTL calls ÷ keys); ${expired} keys expired in the window`;
  if (second) {
    record({
      part: `3b. idle cost, a second ${IDLE_MS / 1000} s window right after the first (diagnostic: does it repeat?)${where}`,
      result,
      target: "— (diagnostic; the target is row 3's)",
      verdict: "—",
    });
    return;
  }
  record({
    part: `3. idle cost, ${BIG / 1000}k locks, ${IDLE_MS / 1000} s window from the moment the console reports live${where}`,
    result,
    target: "SCAN 0/min (no rescans)",
    verdict: scans === 0 ? "met" : "MISSED",
  });
}

function rssSummary(procs: ProcRss[]): { totalKb: number; text: string } {
  const totalKb = procs.reduce((a, p) => a + p.rssKb, 0);
  const parts = procs.map((p) => `pid ${p.pid} ${mb(p.rssKb)} (peak ${mb(p.hwmKb)})`).join(" + ");
  return { totalKb, text: `${mb(totalKb)} [${parts}]` };
}

async function tableLatency(ui: ConsoleUnderTest): Promise<void> {
  const rng = createRng(7);
  for (const q of [undefined, TABLE_FILTER]) {
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < TABLE_REQUESTS; i++) {
      const offset = i === 0 ? 0 : rng.int(0, Math.max(0, total - 200));
      const params = new URLSearchParams({ limit: "200", cursor: String(offset), sort: "ttl" });
      if (q) params.set("q", q);
      const t0 = performance.now();
      const page = await ui.tablePage(params);
      times.push(since(t0));
      total = page.total;
      if (page.rows === 0) throw new Error(`empty page at cursor ${offset} of ${total}`);
    }
    const label = q ? `q=${q} (${total} matches)` : `no filter (${total} rows)`;
    console.log(`  ${label}: first ${ms(times[0])}, p50 ${ms(percentile(times, 50))}, p95 ${ms(percentile(times, 95))}`);
    record({
      part: `5. lock table API, limit=200 sort=ttl random cursor, ${label}, ${TABLE_REQUESTS} requests${where}`,
      result: `p50 ${ms(percentile(times, 50))}, p95 ${ms(percentile(times, 95))} (first request ${ms(times[0])})`,
      target: "—",
      verdict: "—",
    });
  }
}

async function writeToEvent(redis: Redis, ui: ConsoleUnderTest, sse: boolean): Promise<void> {
  const arrived = new Map<string, number>();
  const unsubscribe = await ui.onUpsert((key, at) => {
    if (!arrived.has(key)) arrived.set(key, at);
  });
  const sent = new Map<string, number>();
  const rng = createRng(11);
  try {
    const start = performance.now();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < LAT_WRITES; i++) {
      // Open loop: write i goes out at start + i*20 ms whether or not earlier events arrived.
      const wait = start + i * LAT_SPACING_MS - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const key = `bench:lock:lat:${i}`;
      sent.set(key, performance.now());
      writes.push(redis.set(key, rng.hex(16), "PX", 60_000));
    }
    await Promise.all(writes);
    await waitFor(async () => [...sent.keys()].every((k) => arrived.has(k)), {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: `upsert events for all ${LAT_WRITES} writes`,
    }).catch(() => {});
  } finally {
    unsubscribe();
  }
  const lat = [...sent].filter(([k]) => arrived.has(k)).map(([k, t]) => arrived.get(k)! - t);
  const lost = LAT_WRITES - lat.length;
  if (lat.length === 0) throw new Error(`no upsert event arrived for any of ${LAT_WRITES} writes`);
  const p95 = percentile(lat, 95);
  const result = `p50 ${ms(percentile(lat, 50))}, p95 **${ms(p95)}**, max ${ms(Math.max(...lat))}; ${lost} of ${LAT_WRITES} events missing after 10 s`;
  console.log(`  ${result}`);
  record({
    part: `2. write → ${sse ? "SSE" : "EventBus (IN-PROCESS FALLBACK, no HTTP)"} upsert, ${LAT_WRITES} writes ${LAT_SPACING_MS} ms apart`,
    result,
    target: "p95 < 250 ms, none lost",
    verdict: p95 < 250 && lost === 0 ? "met" : "MISSED",
  });
}

async function consoleParts(redis: Redis, url: string): Promise<void> {
  console.log("\n## server phase: loading data and starting the console");
  await redis.flushall();
  const mix = await writeLocks(redis, BIG, TTL_SEC);
  console.log(`  wrote ${BIG} keys (${describeMix(mix)}; TTLs ${TTL_SEC.join("..")} s)`);
  let product = process.env.BENCH_INPROC !== "1";
  if (product) {
    try {
      const build = await ensureBuild(process.env.BENCH_REBUILD === "1");
      notes.push(`Product build: ${build}.`);
      console.log(`  ${build}`);
    } catch (err) {
      product = false;
      process.exitCode = 1;
      console.error(`  ${(err as Error).message}`);
      notes.push(`**\`next build\` failed; parts 2-5 ran IN-PROCESS (Hub + EventBus, no HTTP/SSE), and server RSS was not measured.** ${(err as Error).message.split("\n")[0]}`);
    }
  } else notes.push("BENCH_INPROC=1: parts 2-5 ran IN-PROCESS (Hub + EventBus, no HTTP/SSE).");
  const t0 = performance.now();
  where = product ? "" : " [IN-PROCESS FALLBACK]";
  const ui: ConsoleUnderTest = product ? await startProduct(url) : startInProcess(url);
  try {
    console.log(`  console: ${ui.label}`);
    await ui.waitLive(BIG, 180_000);
    const toLive = since(t0);
    console.log(`  live with ${BIG} locks ${ms(toLive)} after start`);
    record({ part: `console start → live with ${BIG / 1000}k locks (incl. its first snapshot)${where}`, result: ms(toLive), target: "—", verdict: "—" });

    const atLive = ui.rss();
    await part("3. idle cost", "SCAN 0/min (no rescans)", () => idleCost(redis));
    const afterIdle = ui.rss();
    await part("3b. idle cost, second window", "—", () => idleCost(redis, true));
    await part("4. server RSS", "≤ 400 MB", async () => {
      const afterSecond = ui.rss();
      if (!atLive || !afterIdle || !afterSecond) {
        const result = "not measured: the console ran inside the bench process";
        return record({ part: "4. server RSS", result, target: "≤ 400 MB", verdict: "not measured" });
      }
      const a = rssSummary(atLive);
      const b = rssSummary(afterIdle);
      const c = rssSummary(afterSecond);
      const worst = Math.max(a.totalKb, b.totalKb, c.totalKb);
      console.log(`  at live: ${a.text}\n  after idle: ${b.text}\n  after the second idle window: ${c.text}`);
      record({
        part: `4. server RSS holding ${BIG / 1000}k locks (process tree)`,
        result: `**${mb(worst)}** (at live ${a.text}; after ${IDLE_MS / 1000} s idle ${mb(b.totalKb)}; after ${(2 * IDLE_MS) / 1000} s idle ${mb(c.totalKb)})`,
        target: "≤ 400 MB",
        verdict: worst <= 400 * 1024 ? "met" : "MISSED",
      });
    });
    await part("5. lock table API", "—", () => tableLatency(ui));
    await part("2. write → event latency", "p95 < 250 ms", () => writeToEvent(redis, ui, product));
  } finally {
    await ui.stop();
  }
}

// ---- the other stores and the history recorder ---------------------------------------------

const indent = (line: string) => console.log(`  ${line}`);

async function runEtcd(): Promise<void> {
  const r = await runEtcdBench({ ...ETCD, log: indent });
  versions.set("etcd", `etcd ${r.serverVersion} (single member, loopback, --quota-backend-bytes 4 GiB)`);
  for (const row of r.rows) record(row);
  notes.push(...r.notes.map((n) => `etcd: ${n}`));
}

async function runZooKeeper(): Promise<void> {
  const r = await benchZooKeeper({ ...ZK, log: indent });
  versions.set("zookeeper", `ZooKeeper ${r.serverVersion} (standalone, loopback, forceSync=no; ${javaVersion()})`);
  for (const row of r.rows) record(row);
  notes.push(...r.notes);
}

async function runConsul(): Promise<void> {
  const r = await runConsulBench({ ...CONSUL, log: indent });
  versions.set("consul", `Consul ${r.serverVersion} (one real server agent, bootstrap_expect=1, raft on disk, loopback)`);
  for (const row of r.rows) record(row);
  notes.push(...r.notes.map((n) => (n.startsWith("Consul") ? n : `Consul: ${n}`)));
}

async function runHistory(): Promise<void> {
  const sqlite = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/better-sqlite3/package.json"), "utf8")).version;
  versions.set("history", `SQLite via better-sqlite3 ${sqlite} (WAL, temp dir)`);
  console.log(`  ${HISTORY.rate} events/s for ${HISTORY.seconds} s without the recorder, then ${HISTORY.seconds} s with it ...`);
  const f = await benchHistory(HISTORY);
  console.log(`  ${JSON.stringify(f)}`);
  const overhead = f.cpuMsPerSecWithRecorder - f.cpuMsPerSecBaseline;
  record({
    part: `recorder CPU at ${f.eventsPerSecond} lock events/s (${f.seconds} s each, same driver with and without the recorder)`,
    result: `${f.cpuMsPerSecBaseline} → ${f.cpuMsPerSecWithRecorder} CPU ms per wall second: overhead **${overhead.toFixed(1)} ms/s (${(overhead / 10).toFixed(1)}% of one core)**, i.e. ${((overhead * 1000) / f.eventsPerSecond).toFixed(1)} µs CPU per event`,
    target: "— (no numeric limit given; reported)",
    verdict: "—",
  });
  record({
    part: "recorder cost on the publish path (what the live console's hub pays synchronously)",
    result: `${f.publishUsPerEvent} µs per event (publish time with − without the recorder, over ${f.events} events)`,
    target: "—",
    verdict: "—",
  });
  const keepsUp = f.dropped === 0 && !f.paused && f.flushMsMax < 1_000;
  record({
    part: "recorder keeps pace: one SQLite transaction per second of events",
    result: `${f.flushes} flushes, p50 ${ms(f.flushMsP50)}, max **${ms(f.flushMsMax)}**; ${f.lifeEventsWritten} life events written from ${f.events} bus events, ${f.dropped} dropped, ${f.paused ? "PAUSED" : "not paused"}; ${f.dbBytesPerEvent} bytes of SQLite (db + WAL) per life event`,
    target: "bench's own check: flush max < 1 s, nothing dropped",
    verdict: keepsUp ? "met" : "MISSED",
  });
}

// ---- report ----------------------------------------------------------------------------------

function loadavg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(" / ");
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return (e.stderr ?? "").trim() || `? (${e.message.split("\n")[0]})`;
  }
}

function javaVersion(): string {
  // `java -version` writes to stderr.
  const r = spawnSync("java", ["-version"], { encoding: "utf8", timeout: 10_000 });
  return `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n")[0] || "java ?";
}

function machine(): string[] {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "?";
  return [
    `Machine: \`nproc\` = ${sh("nproc", [])}; CPU model: ${model}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()}`,
    `Load average (1 / 5 / 15 min) at start: ${loadavg()}`,
  ];
}

function software(): string[] {
  const next = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/next/package.json"), "utf8")).version;
  const out = [`Node ${process.version}; Next ${next}`];
  for (const s of SECTIONS) {
    const v = versions.get(s.id);
    if (v) out.push(`${s.title}: ${v}`);
  }
  return out;
}

function table(id: SectionId): string {
  const lines = ["| Measurement | Result | Target | Met? |", "|---|---|---|---|"];
  const list = rows.get(id)!;
  // Redis rows by part number (unnumbered last), the others in the order they ran.
  const order = (r: Row) => Number.parseFloat(r.part) || 9;
  const sorted = id === "redis" ? [...list].sort((a, b) => order(a) - order(b)) : list;
  for (const r of sorted) lines.push(`| ${r.part} | ${r.result.replace(/\|/g, "\\|")} | ${r.target} | ${r.verdict} |`);
  return lines.join("\n");
}

function tables(selected: SectionId[]): string {
  return SECTIONS.filter((s) => selected.includes(s.id))
    .map((s) => `## ${s.title}\n\n${rows.get(s.id)!.length ? table(s.id) : "_No rows: this section did not run._"}`)
    .join("\n\n");
}

function tally(selected: SectionId[]): string {
  const all = selected.flatMap((id) => rows.get(id)!);
  const n = (v: Verdict) => all.filter((r) => r.verdict === v).length;
  const missed = selected.flatMap((id) => rows.get(id)!.filter((r) => r.verdict === "MISSED" || r.verdict === "FAILED").map((r) => `${SECTIONS.find((s) => s.id === id)!.title}: ${r.part.replace(/\*\*/g, "")} (${r.verdict})`));
  return `Targets: **${n("met")} met, ${n("MISSED")} MISSED, ${n("FAILED")} FAILED**${n("not measured") ? `, ${n("not measured")} not measured` : ""}.${missed.length ? `\nMissed or failed:\n${missed.map((m) => `- ${m}`).join("\n")}` : ""}`;
}

const HOW: Record<SectionId, () => string> = {
  redis: () => `### Redis

1. **Snapshot vs raw floor.** Keys are written with pipelines: 85% \`SET <svc>:lock:<i> <32-hex> PX <ttl>\`,
   10% Redisson hashes \`{ "<uuid>:<tid>": "1" }\` with PEXPIRE <ttl>, 5% without expiry; TTLs ${TTL_SEC.join("..")} s so that
   none expires during the run (the read cost does not depend on the TTL value). The floor is SCAN (COUNT 1000)
   plus one pipeline of PTTL + GET per page, at most 4 pages in flight, from the bench process; the snapshot is
   \`RedisAdapter.snapshot()\` (same batching, plus decoding). One untimed warm-up each, then alternating order,
   GC before each run; medians (min–max of the rounds in brackets).
2. **Write → SSE.** The real server (\`next start\`, keyspace notifications "KA") holds ${BIG / 1000}k locks; a fetch-streamed
   \`/api/events?connection=${CONNECTION}\` is open; ${LAT_WRITES} \`SET bench:lock:lat:<i> <token> PX 60000\` go out ${LAT_SPACING_MS} ms apart (open loop);
   latency = arrival of the matching \`upsert\` frame − the moment just before the write. Missing events count as a miss.
3. **Idle cost.** \`INFO commandstats\` before and after a ${IDLE_MS / 1000} s window with nothing changing, minus the bench's own INFO call
   (the console's own INFO, its health check, does count). Nothing else talks to this Redis meanwhile. The window opens
   as soon as \`/api/connections\` reports the connection live with every lock, so a re-list the console starts just after
   going live falls inside it and counts. Row 3b is a second window straight after (no target), to tell a one-off from
   a repeating rescan.
4. **RSS.** VmRSS of the \`next start\` process and its descendants (/proc), read when the connection turned live and
   again after each idle window (3 and 3b); the largest counts. "peak" is VmHWM.
5. **Lock table.** ${TABLE_REQUESTS} sequential \`GET /api/connections/${CONNECTION}/locks?limit=200&cursor=<random>&sort=ttl\`
   (the first at cursor 0; it pays for sorting), then the same with \`q=${TABLE_FILTER}\`. Each page also fetches fresh PTTLs.`,
  etcd: () => `### etcd (scripts/bench/etcd.ts)

- **Data.** ${ETCD.keys / 1000}k keys in the Go \`concurrency.Mutex\` layout under \`bench/\` (\`bench/job-<i>/<lease hex>\`): 80% locks with
  one holder, the rest a holder plus one waiter, on ${ETCD.leases} leases (1 h TTL), written in 128-op txns.
- **Snapshot vs floor.** The floor is the same paged range the adapter sends (${1000} keys/page, values, revision pinned
  at the first page), nothing else; the snapshot is \`EtcdAdapter.snapshot()\` (count, pages, LeaseTimeToLive of every
  lease, decode). One warm-up each, then ${ETCD.rounds} rounds, alternating order; medians. Also shown: CPU time of node + the etcd process, and the decode alone on the same entries.
- **Watch → hub.** A \`Hub\` over the adapter runs **in the bench process** with the ${ETCD.keys / 1000}k keys loaded; ${ETCD.latencyWrites} puts of new
  lock keys, each awaited then 20 ms apart; latency = the hub's \`upsert\` on its EventBus − just before the put.
  **This is the hub, not SSE**: the Next route handler and HTTP hop are not in it (the Redis row 2 measures that hop).
- **Idle.** The adapter's own counters (\`ranges\`, \`snapshots\`, \`leaseCalls\`) over a ${ETCD.idleMs / 1000} s window, hub live, nothing changing.`,
  zookeeper: () => `### ZooKeeper (scripts/bench/zookeeper.ts)

- **Data.** ${ZK.dirs} Curator-style lock dirs \`/locks/job-<i>\`, each with ${ZK.perDir} ephemeral-sequential contenders
  \`_c_<uuid>-lock-<seq>\` (data: an IP) = ${(ZK.dirs * ZK.perDir) / 1000}k lock nodes.
- **Snapshot vs floor.** Floor: getChildren of every dir + getData of every node, ≤ 256 in flight, no sync, no decoding, on
  a separate raw session; snapshot: \`ZooKeeperAdapter.snapshot()\` (sync, srvr, walk with getData-first and watches,
  decode). One warm-up each, ${ZK.rounds} rounds, alternating order; medians. Target ≤ ${ZK_SNAPSHOT_TARGET}× (the module's issue-4 target).
- **Idle.** The adapter session's getData / getChildren / exists and sync calls are counted over a ${ZK.idleMs / 1000} s window,
  hub live, starting 1 s after it went live.
- **Watch → hub.** ${ZK.latencyWrites} contender creates, one at a time (each waits for its event, 10 s timeout = lost); latency = the
  hub's \`upsert\` showing the new waiter − just before the create. **Hub (in-process EventBus), not SSE.**`,
  consul: () => `### Consul (scripts/bench/consul.ts)

- **Data.** ${CONSUL.keys / 1000}k held keys under \`bench/\` (90% \`api.Lock\` keys with the lock flag, 10% plain session-held keys) on
  ${CONSUL.sessions} sessions (1 h TTL), written with the txn \`lock\` verb.
- **Snapshot vs floor.** Floor: one \`GET /v1/kv/bench/?recurse\` + \`JSON.parse\`; snapshot: \`ConsulAdapter.snapshot()\` (?recurse and
  the session list in parallel, uint64-safe parse, decode). One warm-up each, **${CONSUL.rounds} rounds** (the module's default
  was 7; fewer here for time), alternating order; medians.
- **KV change → hub.** ${CONSUL.latencyWrites} \`PUT ?acquire=\` of new keys, each awaited then 20 ms apart; latency = the hub's \`upsert\` on its
  EventBus − just before the PUT. **Hub (in-process EventBus), not SSE.**
- **Idle.** Every HTTP request the adapter sends is counted (wrapped before the hub starts) over a ${CONSUL.idleMs / 1000} s window
  starting 1 s after the last latency write; "open at the end" is the number of blocking queries in flight then.`,
  history: () => `### History recorder (scripts/bench/history.ts)

- A driver publishes hub-shaped \`upsert\`/\`remove\` events on one EventBus at ${HISTORY.rate}/s (10 ms ticks) for ${HISTORY.seconds} s, cycling
  ${HISTORY.locks} mutex locks through acquire → waiter joins → handover → release; first with no recorder subscribed
  (baseline), then with a \`Recorder\` on SQLite in a temp dir, flushed once a second by the bench (its own timer off).
- CPU = process user + system time per wall second; the publish-path figure is the difference of time spent inside
  \`publish\` between the two runs, per event (noisy at this size; can come out near zero or negative).`,
};

function writeDoc(started: Date, runtimeS: number, env: string[], selected: SectionId[], command: string): void {
  const skipped = SECTIONS.filter((s) => !selected.includes(s.id)).map((s) => s.title);
  const doc = `# Benchmarks

Generated by the benchmark itself; do not edit by hand. This run:

\`\`\`sh
${command}
\`\`\`

(\`npm run bench\` = \`tsx scripts/bench/run.ts\`; all sections by default, or a subset: \`npm run bench -- redis etcd\`;
names: redis, etcd, zookeeper (zk), consul, history.)

- Date: ${started.toISOString()}; the run took ${runtimeS.toFixed(0)} s (${(runtimeS / 60).toFixed(1)} min)
${env.map((e) => `- ${e}`).join("\n")}
- Load average at end: ${loadavg()}. A load above ${os.availableParallelism()} means other jobs shared the CPUs and every figure is slower than on an idle machine.
- Server versions and software:
${software().map((s) => `  - ${s}`).join("\n")}
- Sections: ${ran.map((r) => `${SECTIONS.find((s) => s.id === r.id)!.title} ${r.seconds.toFixed(0)} s (load ${r.loadStart} → ${r.loadEnd})${r.ok ? "" : " FAILED"}`).join("; ")}${skipped.length ? `\n- **Not run this time:** ${skipped.join(", ")} (subset requested on the command line); their figures are not in this file.` : ""}

All stores run on this one machine over loopback, each started fresh by the bench and stopped after its section.
Latency rows say which hop they measure: Redis goes through the real \`next start\` server and SSE; etcd, ZooKeeper
and Consul are measured to the **hub's EventBus in the bench process** (the step right before SSE), not over HTTP.

${tally(selected)}

${tables(selected)}

## How it is measured

${SECTIONS.filter((s) => selected.includes(s.id)).map((s) => HOW[s.id]()).join("\n\n")}
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
  fs.mkdirSync(path.join(ROOT, "docs"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "docs", "benchmarks.md"), doc);
}

// ---- main ------------------------------------------------------------------------------------

async function runRedis(): Promise<void> {
  let server: RedisServer | null = null;
  let redis: Redis | null = null;
  try {
    server = await startRedis({ notifyKeyspaceEvents: "KA" });
    redis = new Redis(server.url);
    versions.set("redis", `redis-server ${await redisVersion(redis)} (local, loopback, no persistence)`);
    for (const n of SIZES) {
      await part(`1. snapshot vs raw floor, ${n / 1000}k keys`, n === BIG ? "≤ 1.3×" : "—", () => snapshotVsFloor(redis!, server!.url, n));
    }
    await part("2-5. console", "—", () => consoleParts(redis!, server!.url));
  } finally {
    redis?.disconnect();
    await server?.stop();
  }
}

/** What a section would have reported, for its FAILED rows when it could not run at all. */
const TARGETS: Record<Exclude<SectionId, "redis">, Array<[string, string]>> = {
  etcd: [
    ["etcd snapshot vs raw paged-range floor", "≤ 1.3× floor"],
    ["etcd watch event → hub upsert", "p95 < 250 ms"],
    ["etcd idle", "no full re-range"],
  ],
  zookeeper: [
    ["ZooKeeper snapshot vs raw floor", `≤ ${ZK_SNAPSHOT_TARGET}× floor`],
    ["ZooKeeper idle", "no reads"],
    ["ZooKeeper watch → hub upsert", "p95 < 250 ms"],
  ],
  consul: [
    ["Consul snapshot vs raw read", "≤ 1.3× floor"],
    ["Consul KV change → hub upsert", "p95 < 250 ms"],
    ["Consul idle", "one open blocking query per prefix"],
  ],
  history: [["recorder overhead at 1,000 events/s", "—"]],
};

const RUNNERS: Record<SectionId, () => Promise<void>> = {
  redis: runRedis,
  etcd: runEtcd,
  zookeeper: runZooKeeper,
  consul: runConsul,
  history: runHistory,
};

function parseArgs(argv: string[]): SectionId[] {
  const names = argv.filter((a) => a !== "--").map((a) => a.toLowerCase());
  if (names.some((a) => a === "-h" || a === "--help")) {
    console.log(`usage: npm run bench [-- ${SECTIONS.map((s) => s.id).join(" ")}]   (default: all; zk = zookeeper)`);
    process.exit(0);
  }
  const unknown = names.filter((a) => !(a in ALIASES));
  if (unknown.length) {
    console.error(`unknown bench section(s): ${unknown.join(", ")}; known: ${Object.keys(ALIASES).join(", ")}`);
    process.exit(2);
  }
  const wanted = new Set(names.map((a) => ALIASES[a]));
  return wanted.size ? SECTIONS.map((s) => s.id).filter((id) => wanted.has(id)) : SECTIONS.map((s) => s.id);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const selected = parseArgs(argv);
  const args = argv.filter((a) => a !== "--");
  const envVars = Object.entries(process.env).filter(([k]) => k.startsWith("BENCH_")).map(([k, v]) => `${k}=${v} `).join("");
  const command = `${envVars}npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
  const started = new Date();
  const t0 = performance.now();
  const env = machine();
  console.log(`# LockDeck bench, ${started.toISOString()}: ${selected.join(", ")}\n${env.join("\n")}`);
  for (const id of selected) {
    section = id;
    const title = SECTIONS.find((s) => s.id === id)!.title;
    console.log(`\n# ${title}  (load ${loadavg()}, ${since(t0) / 1000 | 0} s into the run)`);
    const s0 = performance.now();
    const loadStart = loadavg();
    let ok = true;
    try {
      await RUNNERS[id]();
    } catch (err) {
      ok = false;
      process.exitCode = 1;
      const msg = (err as Error).message.split("\n")[0];
      console.error(`  ${title} FAILED: ${(err as Error).stack ?? err}`);
      notes.push(`**${title} failed:** ${msg}`);
      if (id === "redis") record({ part: "Redis section", result: `failed: ${msg}`, target: "—", verdict: "FAILED" });
      else if (rows.get(id)!.length === 0) {
        for (const [part, target] of TARGETS[id]) record({ part, result: `not measured: the section failed (${msg})`, target, verdict: "FAILED" });
      } else record({ part: `${title}: remaining parts`, result: `not measured: the section failed (${msg})`, target: "—", verdict: "FAILED" });
    }
    ran.push({ id, seconds: since(s0) / 1000, loadStart, loadEnd: loadavg(), ok });
  }
  const runtimeS = since(t0) / 1000;
  for (const id of selected) console.log(`\n## ${SECTIONS.find((s) => s.id === id)!.title}\n${table(id)}`);
  console.log(`\n${tally(selected)}\n\nruntime ${runtimeS.toFixed(0)} s`);
  writeDoc(started, runtimeS, env, selected, command);
  console.log("wrote docs/benchmarks.md");
  // Clients of stopped servers may still hold reconnect timers; the figures are written.
  process.exit();
}

void main();
