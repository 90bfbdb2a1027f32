// Where a lock-table request goes at 1M locks: a Hub in this process (no history recorder, no
// HTTP) holding N keys of the bench mix, then each of the redis1m section's queries timed step by
// step (the hub's query, formats, fresh TTLs + exposure, JSON), its first (cache-filling) call
// under the CPU profiler, written to /tmp/lockdeck-table-<query>.cpuprofile.
//   npx tsx scripts/bench/table-profile.ts [N]      (default 1M)

import Redis from "ioredis";
import fs from "node:fs";
import { Session } from "node:inspector/promises";
import { startRedis } from "../servers/redis";
import { waitFor } from "../servers/process";
import { RedisAdapter } from "../../lib/stores/redis/adapter";
import { RedisConnectionSchema } from "../../lib/stores/redis/config";
import { Hub } from "../../lib/hub/hub";
import { EventBus } from "../../lib/hub/bus";
import { parseLockQuery } from "../../lib/api/params";
import { withFreshTtls } from "../../lib/hub/fresh";
import { lockFor } from "../../lib/api/exposure";
import { writeLocks } from "./redis-data";
import { ms, since, percentile } from "./stats";

const N = Number(process.argv[2] ?? 1_000_000);
const CASES = ["", "sort=ttl", "sort=age", "q=payments", "status=stale&sort=age"];

async function main(): Promise<void> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const session = new Session();
  session.connect();
  try {
    let t = performance.now();
    await writeLocks(redis, N, [3_600, 7_200]);
    console.log(`wrote ${N} in ${ms(since(t))}`);
    const cfg = RedisConnectionSchema.parse({ id: "p", kind: "redis", url: server.url });
    const hub = new Hub("p", new RedisAdapter("p", cfg), new EventBus());
    t = performance.now();
    hub.start();
    await waitFor(async () => hub.statusEvent().lockCount === N && hub.statusEvent().mode === "live", { timeoutMs: 600_000, intervalMs: 200, what: "live" });
    console.log(`hub live in ${ms(since(t))}`);
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    for (const c of CASES) {
      const url = new URL(`http://x/?limit=200&${c}`);
      const steps = (offset: number) => {
        url.searchParams.set("cursor", String(offset));
        const s0 = performance.now();
        const page = hub.query(parseLockQuery(url));
        const q = since(s0);
        const f0 = performance.now();
        hub.formats();
        const f = since(f0);
        return { page, q, f };
      };
      await session.post("Profiler.start");
      const first = steps(0);
      const { profile } = await session.post("Profiler.stop");
      fs.writeFileSync(`/tmp/lockdeck-table-${c.replace(/[^a-z]+/g, "-") || "default"}.cpuprofile`, JSON.stringify(profile));
      const qs: number[] = [];
      const fs_: number[] = [];
      const io: number[] = [];
      const js: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = steps(Math.floor(Math.random() * Math.max(0, first.page.total - 200)));
        qs.push(r.q);
        fs_.push(r.f);
        const i0 = performance.now();
        const locks = (await withFreshTtls(hub, r.page.locks)).map(lockFor(null));
        io.push(since(i0));
        const j0 = performance.now();
        JSON.stringify({ locks, problems: hub.currentProblems().slice(0, 100) });
        js.push(since(j0));
      }
      const p = (xs: number[]) => `p50 ${ms(percentile(xs, 50))} p95 ${ms(percentile(xs, 95))}`;
      console.log(
        `${c || "default"} (${first.page.total}): first query ${ms(first.q)} formats ${ms(first.f)}; then query ${p(qs)}, formats ${p(fs_)}, fresh TTLs + lockFor ${p(io)}, JSON ${p(js)}`,
      );
    }
    await hub.stop();
  } finally {
    session.disconnect();
    redis.disconnect();
    await server.stop();
  }
}

void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
