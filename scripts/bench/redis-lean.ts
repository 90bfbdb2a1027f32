// How much of the Redis floor is the client library: the bench's ioredis floor against the same
// read through a raw RESP2 pipeline (node:net and a minimal parser, redis-raw-floor.ts; no ioredis):
//   npx tsx scripts/bench/redis-lean.ts [pairs=8] [keys=100000]
// Both read every key of the bench mix (scripts/bench/redis-data.ts) as the floor does: SCAN
// COUNT 2000, one pipeline per page with a PTTL per key and one MGET, 4 pages in flight, values
// kept as Buffers. Paired, alternating order, a full GC before each; prints wall time, node CPU
// and redis-server CPU of each read. A diagnostic for docs/benchmarks.md, not a bench row: the
// raw reader handles a loopback server without TLS or AUTH, and nothing else.

import Redis from "ioredis";
import { startRedis } from "../servers/redis";
import { writeLocks } from "./redis-data";
import { redisFloorRead } from "./redis-floor";
import { RawResp, rawRespRead } from "./redis-raw-floor";
import { collectGarbage, median, ownCpuMs, procCpuMs } from "./stats";

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 8);
  const n = Number(process.argv[3] ?? 100_000);
  const server = await startRedis();
  const redis = new Redis(server.url);
  const url = new URL(server.url);
  const raw = await RawResp.open(url.hostname, Number(url.port));
  try {
    await writeLocks(redis, n, [3600, 7200]);
    const pid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
    const timed = async (read: () => Promise<number>) => {
      collectGarbage();
      const [node0, redis0, t0] = [ownCpuMs(), procCpuMs(pid), performance.now()];
      const keys = await read();
      if (keys !== n) throw new Error(`read ${keys} keys, expected ${n}`);
      return { wall: performance.now() - t0, node: ownCpuMs() - node0, redis: procCpuMs(pid) - redis0 };
    };
    const floor = () => timed(() => redisFloorRead(redis, { values: "MGET", scanCount: 2000, inFlight: 4 }));
    const lean = () => timed(() => rawRespRead(raw));
    for (let i = 0; i < 2; i++) {
      await floor(); // warm-up, both
      await lean();
    }
    const rows: Array<{ floor: Awaited<ReturnType<typeof floor>>; raw: Awaited<ReturnType<typeof lean>> }> = [];
    for (let i = 0; i < pairs; i++) {
      const first = i % 2 ? await lean() : await floor();
      const second = i % 2 ? await floor() : await lean();
      const row = i % 2 ? { floor: second, raw: first } : { floor: first, raw: second };
      rows.push(row);
      const f = (x: { wall: number; node: number; redis: number }) =>
        `wall ${x.wall.toFixed(0)} ms, node ${x.node.toFixed(0)} ms, redis ${x.redis.toFixed(0)} ms`;
      console.log(`pair ${i + 1}: ioredis floor ${f(row.floor)} | raw RESP2 ${f(row.raw)}`);
    }
    const med = (pick: (r: (typeof rows)[number]) => number) => median(rows.map(pick)).toFixed(0);
    console.log(
      `median: ioredis floor wall ${med((r) => r.floor.wall)} ms, node ${med((r) => r.floor.node)} ms, redis ${med((r) => r.floor.redis)} ms; ` +
        `raw RESP2 wall ${med((r) => r.raw.wall)} ms, node ${med((r) => r.raw.node)} ms, redis ${med((r) => r.raw.redis)} ms`,
    );
  } finally {
    raw.close();
    redis.disconnect();
    await server.stop();
  }
}

void main();
