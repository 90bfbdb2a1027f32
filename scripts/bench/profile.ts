// CPU profile of one RedisAdapter.snapshot() over N keys (default 100k) of the bench mix:
//   npx tsx scripts/bench/profile.ts [N]
// Prints the top functions by self time and writes snapshot.cpuprofile (open it in Chrome
// DevTools or speedscope) to the current directory.

import Redis from "ioredis";
import fs from "node:fs";
import { Session } from "node:inspector/promises";
import { startRedis } from "../servers/redis";
import { RedisAdapter } from "../../lib/stores/redis/adapter";
import { RedisConnectionSchema } from "../../lib/stores/redis/config";
import { scanAndRead } from "../../lib/stores/redis/scan";
import { decodeRedis } from "../../lib/formats/redis";
import { rawFloor, serverCounters, writeLocks } from "./redis-data";
import { ms, since } from "./stats";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  const server = await startRedis();
  const redis = new Redis(server.url);
  const adapter = new RedisAdapter("bench", RedisConnectionSchema.parse({ id: "bench", kind: "redis", url: server.url }));
  const session = new Session();
  try {
    await writeLocks(redis, n, [600, 1200]);
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
    // Self and inclusive samples per function (inclusive counted once per stack).
    const nodes = new Map((profile.nodes as Node[]).map((x) => [x.id, x]));
    const name = (x: Node) => `${x.callFrame.functionName || "(anonymous)"} ${x.callFrame.url.replace(/^.*?\/(node_modules|lib)\//, "$1/")}`;
    const self = new Map<string, number>();
    const total = new Map<string, number>();
    let all = 0;
    const walk = (x: Node, onStack: Set<string>) => {
      const f = name(x);
      const hits = x.hitCount ?? 0;
      all += hits;
      self.set(f, (self.get(f) ?? 0) + hits);
      const stack = new Set(onStack).add(f);
      for (const g of stack) total.set(g, (total.get(g) ?? 0) + hits);
      for (const c of x.children ?? []) walk(nodes.get(c)!, stack);
    };
    walk((profile.nodes as Node[])[0], new Set());
    const top = (m: Map<string, number>, k: number, only = (_f: string) => true) =>
      [...m].filter(([f]) => only(f)).sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, h]) => `  ${((100 * h) / all).toFixed(1).padStart(5)}%  ${f}`).join("\n");
    console.log(`snapshot of ${snap.locks.length} locks: ${ms(took)} (profiled); ${all} samples`);
    console.log(`top self time:\n${top(self, 20)}`);
    console.log(`inclusive time, LockDeck code (lib/):\n${top(total, 20, (f) => f.includes(" lib/"))}`);

    // The same work in phases, unprofiled: raw floor, discovery + reads (scan.ts/read.ts), decode.
    const signal = new AbortController().signal;
    const commands = async (fn: () => Promise<unknown>) => {
      const before = await serverCounters(redis);
      await fn();
      const after = await serverCounters(redis);
      const d = [...after.calls].map(([c, x]) => [c, x - (before.calls.get(c) ?? 0) - (c === "info" ? 1 : 0)] as const).filter(([, x]) => x > 0);
      return `${d.reduce((a, [, x]) => a + x, 0)} (${d.map(([c, x]) => `${c} ${x}`).join(", ")})`;
    };
    console.log(`commands sent: floor ${await commands(() => rawFloor(redis))}`);
    console.log(`commands sent: snapshot ${await commands(() => adapter.snapshot(signal))}`);
    for (let r = 0; r < 3; r++) {
      let t = performance.now();
      await rawFloor(redis);
      const floor = since(t);
      t = performance.now();
      const read = await scanAndRead(redis, () => true, 64 * 1024, signal);
      const readMs = since(t);
      t = performance.now();
      decodeRedis(read.entries, { connection: "bench", consistency: "primary", now: Date.now() });
      const decodeMs = since(t);
      t = performance.now();
      await adapter.snapshot(signal);
      console.log(`phases: floor ${ms(floor)} | scanAndRead ${ms(readMs)} + decodeRedis ${ms(decodeMs)} | whole snapshot ${ms(since(t))}`);
    }
  } finally {
    session.disconnect();
    await adapter.close();
    redis.disconnect();
    await server.stop();
  }
}

void main();
