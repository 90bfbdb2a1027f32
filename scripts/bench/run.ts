// `npm run bench`: LockDeck's performance figures against a real redis-server started here.
//   1. snapshot cost: raw floor (SCAN + pipelined PTTL/GET) vs the decoded adapter.snapshot()
//   2. store write -> SSE `upsert` latency through the real server (`next start`)
//   3. idle cost: commands/minute the console sends while nothing changes
//   4. server RSS holding 100k locks
//   5. lock-table API latency at 100k rows
// Prints as it goes, then a markdown table, and writes docs/benchmarks.md.
// The product is rebuilt when .next is missing or older than a source file (BENCH_REBUILD=1 forces
// it); if it cannot be built, parts 2-5 run in-process and say so. BENCH_INPROC=1 skips the server.

import Redis from "ioredis";
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

type Verdict = "met" | "MISSED" | "—" | "FAILED" | "not measured";
interface Row {
  part: string;
  result: string;
  target: string;
  verdict: Verdict;
}

const rows: Row[] = [];
/** Appended to parts 2-5 when they ran in the fallback (no product server). */
let where = "";
const notes: string[] = [];
const record = (r: Row) => {
  rows.push(r);
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

async function idleCost(redis: Redis): Promise<void> {
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
  console.log(`  ${total} commands in ${(minutes * 60).toFixed(1)} s: ${breakdown} /min; keys expired meanwhile: ${expired}`);
  record({
    part: `3. idle cost, ${BIG / 1000}k locks, ${IDLE_MS / 1000} s window${where}`,
    result: `${perMin(total)} commands/min (${breakdown}); SCAN **${perMin(scans)}/min**; ${expired} keys expired in the window`,
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
    await part("4. server RSS", "≤ 400 MB", async () => {
      const afterIdle = ui.rss();
      if (!atLive || !afterIdle) {
        const result = "not measured: the console ran inside the bench process";
        return record({ part: "4. server RSS", result, target: "≤ 400 MB", verdict: "not measured" });
      }
      const a = rssSummary(atLive);
      const b = rssSummary(afterIdle);
      const worst = Math.max(a.totalKb, b.totalKb);
      console.log(`  at live: ${a.text}\n  after idle: ${b.text}`);
      record({
        part: `4. server RSS holding ${BIG / 1000}k locks (process tree)`,
        result: `**${mb(worst)}** (at live ${a.text}; after ${IDLE_MS / 1000} s idle ${mb(b.totalKb)})`,
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

// ---- report ----------------------------------------------------------------------------------

function loadavg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(" / ");
}

function machine(redisVer: string): string[] {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "?";
  const next = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/next/package.json"), "utf8")).version;
  return [
    `CPU: ${os.availableParallelism()} × ${model} (nproc ${os.availableParallelism()})`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()}`,
    `redis-server ${redisVer} (local, loopback, no persistence); Node ${process.version}; Next ${next}`,
    `Load average (1 / 5 / 15 min) at start: ${loadavg()}`,
  ];
}

function table(): string {
  const lines = ["| Measurement | Result | Target | Met? |", "|---|---|---|---|"];
  const order = (r: Row) => Number.parseFloat(r.part) || 9; // by part number, unnumbered rows last
  for (const r of [...rows].sort((a, b) => order(a) - order(b))) lines.push(`| ${r.part} | ${r.result} | ${r.target} | ${r.verdict} |`);
  return lines.join("\n");
}

function writeDoc(started: Date, runtimeS: number, env: string[]): void {
  const doc = `# Benchmarks

Generated by the benchmark itself; do not edit by hand. Re-run with:

\`\`\`sh
npm run bench        # = tsx scripts/bench/run.ts
\`\`\`

- Date: ${started.toISOString()} (run took ${runtimeS.toFixed(0)} s)
${env.map((e) => `- ${e}`).join("\n")}
- Load average at end: ${loadavg()}. A load above ${os.availableParallelism()} means other jobs shared the CPUs and every figure is slower than on an idle machine.

${table()}

## How it is measured

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
   (the console's own INFO, its health check, does count). Nothing else talks to this Redis meanwhile.
4. **RSS.** VmRSS of the \`next start\` process and its descendants (/proc), read when the connection turned live and
   again after the idle window; the larger counts. "peak" is VmHWM.
5. **Lock table.** ${TABLE_REQUESTS} sequential \`GET /api/connections/${CONNECTION}/locks?limit=200&cursor=<random>&sort=ttl\`
   (the first at cursor 0; it pays for sorting), then the same with \`q=${TABLE_FILTER}\`. Each page also fetches fresh PTTLs.
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
  fs.mkdirSync(path.join(ROOT, "docs"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "docs", "benchmarks.md"), doc);
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  let server: RedisServer | null = null;
  let redis: Redis | null = null;
  let env: string[] = [];
  try {
    server = await startRedis({ notifyKeyspaceEvents: "KA" });
    redis = new Redis(server.url);
    env = machine(await redisVersion(redis));
    console.log(`# LockDeck bench, ${started.toISOString()}\n${env.join("\n")}`);
    for (const n of SIZES) {
      await part(`1. snapshot vs raw floor, ${n / 1000}k keys`, n === BIG ? "≤ 1.3×" : "—", () => snapshotVsFloor(redis!, server!.url, n));
    }
    await part("2-5. console", "—", () => consoleParts(redis!, server!.url));
  } catch (err) {
    process.exitCode = 1;
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    notes.push(`The run failed: ${(err as Error).message.split("\n")[0]}`);
  } finally {
    redis?.disconnect();
    await server?.stop();
  }
  const runtimeS = since(t0) / 1000;
  console.log(`\n${table()}\n\nruntime ${runtimeS.toFixed(0)} s`);
  writeDoc(started, runtimeS, env);
  console.log("wrote docs/benchmarks.md");
}

void main();
