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
import { writeLocks } from "./redis-data";
import { ms, since } from "./stats";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
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
    const self = new Map<string, number>();
    let all = 0;
    for (const node of profile.nodes as Node[]) {
      const f = node.callFrame;
      const where = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(node_modules|lib)\//, "$1/")}:${f.lineNumber + 1}`;
      self.set(where, (self.get(where) ?? 0) + (node.hitCount ?? 0));
      all += node.hitCount ?? 0;
    }
    console.log(`snapshot of ${snap.locks.length} locks: ${ms(took)}; top self time (${all} samples):`);
    for (const [where, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
      console.log(`  ${((100 * hits) / all).toFixed(1).padStart(5)}%  ${where}`);
    }
  } finally {
    session.disconnect();
    await adapter.close();
    redis.disconnect();
    await server.stop();
  }
}

void main();
