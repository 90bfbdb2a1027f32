// What a change bought: the Redis snapshot and a hub's start-up, measured for several checkouts
// of LockDeck against the same loaded redis-server, each in its own process, interleaved.
//   git archive <rev> | tar -x -C /tmp/ld-<rev> && ln -s "$PWD/node_modules" /tmp/ld-<rev>/
//   npx tsx scripts/bench/compare.ts [--keys N] [--rounds R] /tmp/ld-<rev> … .
// Per checkout and round: the median of 5 snapshots (wall, CPU of the process), and a Hub from
// start to live with every lock (wall, CPU, heap held after GC, RSS). The server sends keyspace
// events, so a checkout that follows them goes live as it would in production; CPU time is the
// steadier figure on a shared machine.

import Redis from "ioredis";
import { execFileSync } from "node:child_process";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { startRedis } from "../servers/redis";
import { writeLocks } from "./redis-data";

async function probe(root: string, url: string, n: number, what: "snapshot" | "hub"): Promise<Record<string, number | string>> {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const { RedisAdapter } = await import(path.join(root, "lib/stores/redis/adapter"));
  const { RedisConnectionSchema } = await import(path.join(root, "lib/stores/redis/config"));
  const cfg = RedisConnectionSchema.parse({ id: "b", kind: "redis", url });
  const cpu = () => (process.cpuUsage().user + process.cpuUsage().system) / 1000;
  if (what === "snapshot") {
    const a = new RedisAdapter("b", cfg);
    const signal = new AbortController().signal;
    await a.snapshot(signal);
    const runs: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) {
      gc();
      const [c0, t0] = [cpu(), performance.now()];
      if ((await a.snapshot(signal)).locks.length !== n) throw new Error("wrong lock count");
      runs.push([performance.now() - t0, cpu() - c0]);
    }
    await a.close();
    const med = (i: 0 | 1) => Math.round(runs.map((r) => r[i]).sort((x, y) => x - y)[2]);
    return { wallMs: med(0), cpuMs: med(1) };
  }
  const { Hub } = await import(path.join(root, "lib/hub/hub"));
  const { EventBus } = await import(path.join(root, "lib/hub/bus"));
  gc();
  const base = process.memoryUsage().heapUsed;
  const [c0, t0] = [cpu(), performance.now()];
  const hub = new Hub("b", new RedisAdapter("b", cfg), new EventBus(), { healthIntervalMs: 60_000 });
  hub.start();
  const done = () => hub.statusEvent().lockCount === n && hub.statusEvent().status === "ok" && hub.statusEvent().mode === "live";
  while (!done()) await new Promise((r) => setTimeout(r, 5));
  const out = { liveMs: Math.round(performance.now() - t0), cpuMs: Math.round(cpu() - c0), rssPeakMB: Math.round(process.memoryUsage().rss / 2 ** 20) };
  await new Promise((r) => setTimeout(r, 2_000));
  gc();
  gc();
  const held = { heapHeldMB: Math.round((process.memoryUsage().heapUsed - base) / 2 ** 20), rssHeldMB: Math.round(process.memoryUsage().rss / 2 ** 20) };
  await hub.stop();
  return { ...out, ...held };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--probe") {
    console.log(JSON.stringify(await probe(args[1], args[2], Number(args[3]), args[4] as "snapshot" | "hub")));
    process.exit(0);
  }
  const opt = (name: string, d: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args.splice(i, 2)[1]) : d;
  };
  const n = opt("--keys", 100_000);
  const rounds = opt("--rounds", 2);
  const roots = args.map((r) => path.resolve(r));
  const server = await startRedis({ notifyKeyspaceEvents: "KA" });
  const redis = new Redis(server.url);
  try {
    await writeLocks(redis, n, [3600, 7200]);
    for (let r = 1; r <= rounds; r++) {
      for (const what of ["snapshot", "hub"] as const) {
        for (const root of r % 2 ? roots : [...roots].reverse()) {
          const out = execFileSync(process.execPath, [...process.execArgv, __filename, "--probe", root, server.url, String(n), what], { encoding: "utf8" });
          console.log(`round ${r} ${what.padEnd(8)} ${root}: ${out.trim()}`);
        }
      }
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
  process.exit(0);
}

void main();
