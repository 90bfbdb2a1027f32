// Bench: store load with several replicas, and change → browser latency through a follower.
//   npx tsx scripts/bench/replicas.ts        (BENCH_REPLICAS_SECONDS, default 60, per phase)
// A real Redis with keyspace events, a real PostgreSQL, and the standalone console (the deploy
// kit's server) as 1 replica, then as 3 replicas sharing PostgreSQL, each phase under the same
// steady workload (locks taken, renewed and released by a plain client). Measured per phase,
// after every replica is ready and a settling pause: Redis commands per minute from INFO
// commandstats, less the workload's own commands (counted by the workload) and INFO itself.
// Targets: 3 replicas ≤ 1.2 × 1 replica; change → SSE event on a follower p95 < 250 ms (an
// event stream of /api/events, read as a browser's EventSource reads it: scripts/bench/sse.ts).
// Needs `npx next build` (scripts/standalone.mjs is run here). Writes its section of
// docs/benchmarks.md between its own markers (`npm run bench` keeps text outside its block).

import Redis from "ioredis";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { startPostgres } from "../../test/support/postgres";
import { startRedis } from "../servers/redis";
import { startConsole, type Console } from "../servers/console";
import { waitFor } from "../servers/process";
import { openSse } from "./sse";
import { percentile } from "./stats";
import { writeBlock } from "./doc-block";
import os from "node:os";
import path from "node:path";

const SECONDS = Number(process.env.BENCH_REPLICAS_SECONDS ?? 60);
const SECRET = { LOCKDECK_SESSION_SECRET: randomBytes(48).toString("base64") };
const LOCKS = 200;
const CHANGES_PER_SECOND = 20;

async function commandCount(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  return [...info.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)].filter(([, c]) => c !== "info").reduce((n, m) => n + Number(m[2]), 0);
}

/** Steady churn: each tick one lock is taken, renewed or released; returns the commands sent. */
function workload(redis: Redis, onSet: (key: string, at: number) => void) {
  let sent = 0;
  let i = 0;
  const timer = setInterval(() => {
    const key = `bench:lock:${i++ % LOCKS}`;
    const op = i % 3;
    sent++;
    if (op === 0) void redis.del(key);
    else if (op === 1) void redis.pexpire(key, 60_000);
    else {
      onSet(key, performance.now());
      void redis.set(key, `tok-${i}-${randomBytes(8).toString("hex")}`, "PX", 60_000);
    }
  }, 1000 / CHANGES_PER_SECOND);
  return { stop: () => clearInterval(timer), sent: () => sent };
}

async function phase(n: number, redis: Redis, pgUrl: string, redisUrl: string) {
  const config = { connections: [{ id: "r", kind: "redis", url: redisUrl, patterns: ["bench:*"], notifications: "use" }], postgres: { url: pgUrl } };
  const consoles: Console[] = [];
  try {
    for (let k = 0; k < n; k++) consoles.push(await startConsole({ config, env: SECRET, name: `bench-replica-${k}` }));
    const role = async (c: Console) => (await (await fetch(`${c.url}/api/ready`)).json()) as { ready: boolean; connections: Array<{ role: string }> };
    await waitFor(async () => (await Promise.all(consoles.map(role))).every((r) => r.ready), { timeoutMs: 60_000, what: "replicas ready" });
    const roles = await Promise.all(consoles.map(role));
    const follower = consoles[roles.findIndex((r) => r.connections[0].role === "follower")] ?? consoles[0];
    // Latency: SET sent → upsert for that key on the follower's event stream.
    const pending = new Map<string, number>();
    const latencies: number[] = [];
    const sse = await openSse(`${follower.url}/api/events?connection=r`, (e) => {
      if (e.event !== "upsert") return;
      const key = (JSON.parse(e.data) as { lock: { key: string } }).lock.key;
      const t = pending.get(key);
      if (t !== undefined) {
        latencies.push(e.at - t);
        pending.delete(key);
      }
    });
    const load = workload(redis, (key, at) => pending.set(key, at));
    await new Promise((r) => setTimeout(r, 5_000)); // settle: start-up reads are not steady load
    const c0 = await commandCount(redis);
    const w0 = load.sent();
    const t0 = performance.now();
    latencies.length = 0;
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const minutes = (performance.now() - t0) / 60_000;
    const product = (await commandCount(redis)) - c0 - (load.sent() - w0);
    load.stop();
    sse.close();
    return {
      replicas: n,
      perMinute: product / minutes,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      samples: latencies.length,
      through: n > 1 ? "follower" : "the only replica",
    };
  } finally {
    for (const c of consoles) await c.stop();
  }
}

const loadAtStart = os.loadavg();

async function main() {
  if (spawnSync(process.execPath, ["scripts/standalone.mjs"], { stdio: "inherit" }).status !== 0) throw new Error("run `npx next build` first");
  const pg = await startPostgres();
  if (!pg) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
  const server = await startRedis({ notifyKeyspaceEvents: "KA" });
  const redis = new Redis(server.url);
  try {
    for (let i = 0; i < LOCKS; i++) await redis.set(`bench:lock:${i}`, `tok-${i}`, "PX", 60_000);
    const one = await phase(1, redis, pg.url, server.url);
    const three = await phase(3, redis, pg.url, server.url);
    const ratio = three.perMinute / one.perMinute;
    const rows = [
      `| Redis commands per minute, 1 replica | ${Math.round(one.perMinute)} | — | — |`,
      `| Redis commands per minute, 3 replicas | ${Math.round(three.perMinute)} (${ratio.toFixed(2)} × 1 replica) | ≤ 1.2 × | ${ratio <= 1.2 ? "met" : "MISSED"} |`,
      `| change → SSE event, through a follower (3 replicas) | p50 ${three.p50.toFixed(0)} ms, p95 ${three.p95.toFixed(0)} ms (${three.samples} changes) | p95 < 250 ms | ${three.p95 < 250 ? "met" : "MISSED"} |`,
      `| change → SSE event, 1 replica (for comparison) | p50 ${one.p50.toFixed(0)} ms, p95 ${one.p95.toFixed(0)} ms (${one.samples} changes) | — | — |`,
    ];
    const table = `| what | result | target | verdict |\n|---|---|---|---|\n${rows.join("\n")}`;
    console.log(`\nReplicas (${SECONDS} s per phase, ${CHANGES_PER_SECOND} changes/s over ${LOCKS} locks):\n${table}`);
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
    writeBlock(
      path.join(__dirname, "..", "..", "docs", "benchmarks.md"),
      "replicas",
      `## Replicas (one reading replica per store)

Run: \`npx tsx scripts/bench/replicas.ts\` (not a section of \`npm run bench\`: it starts 1 then 3
standalone consoles, a PostgreSQL and a Redis, ~3 min). ${new Date().toISOString()}; Node ${process.version};
${SECONDS} s per phase; ${CHANGES_PER_SECOND} changes/s over ${LOCKS} Redis locks (a plain client takes, renews and
releases them); load average at start ${load(loadAtStart)}, at end ${load(os.loadavg())} (above 2 = other jobs
shared the 2 CPUs).

${table}

How: the deploy kit's standalone server (\`.next/standalone/scripts/start.mjs\`) with \`postgres.url\`,
first 1 replica, then 3 sharing the database, each phase under the same workload. After every replica
is ready and 5 s of settling, Redis \`INFO commandstats\` is read at the start and end of the phase;
the product's commands = the difference less the workload's own commands (it counts them) and \`INFO\`.
Latency: the workload's SET (a \`performance.now()\` stamp before the command) to the \`upsert\` event
for that key on \`/api/events\` of a follower (3 replicas) or of the only replica, read like a
browser's EventSource (\`scripts/bench/sse.ts\`); the path through a follower is Redis → reading
replica (keyspace event, re-read) → PostgreSQL (one statement + NOTIFY) → follower (one query) → SSE.`,
    );
  } finally {
    redis.disconnect();
    await server.stop();
    await pg.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench replicas: ${(err as Error).message}`);
    process.exit(1);
  },
);
