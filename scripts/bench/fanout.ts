// Fan-out (issue 13): many browsers on /api/events at once while locks change fast. The real
// product server (`next start`) follows a default redis-server (client tracking); a forked
// process (fanout-clients.ts) holds `clients` SSE streams; this process makes `rate` lock changes
// a second for `seconds` s (open loop) and stamps each just before its command.
// Runnable alone: `npx tsx scripts/bench/fanout.ts [seconds [clients]]`; exported for scripts/bench/run.ts.
// BENCH_FANOUT_PROFILE=<dir> has the server write a CPU profile (`--cpu-prof`) into <dir>.
//
// Changes alternate: SET fan:lock:<m+LAG> (an acquire) and DEL fan:lock:<m> (the release of a
// lock taken LAG acquires earlier), so about LAG fan-out locks are held at any time beside the
// background locks, and no key is set and deleted within one read of the feed.

import { fork } from "node:child_process";
import path from "node:path";
import Redis from "ioredis";
import { startRedis } from "../servers/redis";
import { waitFor } from "../servers/process";
import { createRng } from "../../lib/demo/prng";
import { ensureBuild, processTreeCpuMs, processTreeRss, startProduct, CONNECTION } from "./product";
import { redisVersion, writeLocks } from "./redis-data";
import { procCpuMs } from "./stats";
import { loadavg, printFigures } from "./report";
import type { FanoutSummary } from "./fanout-clients";

export interface FanoutOptions {
  clients: number;
  /** lock changes per second */
  rate: number;
  seconds: number;
  /** other locks the console holds meanwhile */
  background: number;
  log: (line: string) => void;
}

export interface FanoutFigures extends FanoutSummary {
  redis: string;
  build: string;
  feed: string;
  /** the feed as /api/connections named it right after the last write */
  feedEnd: string;
  openMs: number;
  changes: number;
  windowS: number;
  achievedRate: number;
  serverCpuCores: number;
  /** server CPU from the first write until every event arrived or the drain gave up */
  serverCpuMsToDrain: number;
  drainedS: number;
  serverPids: number;
  clientCpuCores: number;
  redisCpuCores: number;
  benchCpuCores: number;
  serverRssMb: number;
  loadStart: string;
  loadEnd: string;
}

const PREFIX = "fan:lock:";
const LAG = 100;
export const DRAIN_MS = 15_000;
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

type Reply = { type: string; [k: string]: unknown };

export async function benchFanout(o: FanoutOptions): Promise<FanoutFigures> {
  const build = await ensureBuild(process.env.BENCH_REBUILD === "1");
  o.log(build);
  const server = await startRedis();
  const redis = new Redis(server.url);
  const writer = new Redis(server.url);
  const cleanups: Array<() => Promise<void> | void> = [() => server.stop(), () => redis.disconnect(), () => writer.disconnect()];
  try {
    const version = await redisVersion(redis);
    await writeLocks(redis, o.background, [600, 1200]);
    const pre = redis.pipeline();
    for (let k = 0; k < LAG; k++) pre.set(`${PREFIX}${k}`, "seed", "PX", 600_000);
    await pre.exec();
    // BENCH_FANOUT_PROFILE=<dir>: the server writes a V8 CPU profile there when it stops.
    const profileDir = process.env.BENCH_FANOUT_PROFILE;
    const ui = await startProduct(server.url, { nodeArgs: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profileDir)}`] : [] });
    cleanups.unshift(() => ui.stop());
    if (!ui.server) throw new Error("the fan-out bench needs the product server");
    await ui.waitLive(o.background + LAG, 120_000);
    const feed = (await ui.feed()) ?? "?";
    o.log(`console live with ${o.background + LAG} locks (feed: ${feed})`);

    const changes = o.rate * o.seconds;
    const child = fork(path.join(__dirname, "fanout-clients.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    cleanups.unshift(() => void child.kill("SIGKILL"));
    const replies: Reply[] = [];
    let wake = () => {};
    child.on("message", (m: Reply) => {
      replies.push(m);
      wake();
    });
    const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`SSE client process exited (${code})`))));
    exited.catch(() => {});
    const reply = async (type: string, timeoutMs: number): Promise<Reply> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = replies.findIndex((r) => r.type === type);
        if (i >= 0) return replies.splice(i, 1)[0];
        if (Date.now() > deadline) throw new Error(`no "${type}" from the SSE client process after ${timeoutMs} ms`);
        await Promise.race([new Promise<void>((r) => ((wake = r), setTimeout(r, 200))), exited]);
      }
    };
    child.send({ type: "open", url: `${ui.server.url}/api/events?connection=${CONNECTION}`, count: o.clients, prefix: PREFIX, lag: LAG, changes });
    const opened = await reply("opened", 120_000);
    o.log(`${o.clients} SSE streams open in ${Math.round(opened.ms as number)} ms (client process pid ${child.pid})`);
    await new Promise((r) => setTimeout(r, 2_000)); // let the connects' own work settle

    const serverPids = processTreeRss(ui.server.pid).length;
    const redisPid = server.pid();
    const cpu = () => ({
      server: processTreeCpuMs(ui.server!.pid),
      client: procCpuMs(child.pid!),
      redis: procCpuMs(redisPid),
      bench: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    });
    const loadStart = loadavg();
    const sent: number[] = new Array(changes).fill(0);
    const rng = createRng(13);
    const writes: Promise<unknown>[] = [];
    const c0 = cpu();
    const t0 = nowMs();
    const interval = 1000 / o.rate;
    let i = 0;
    let nextLog = o.rate * 10;
    while (i < changes) {
      // Open loop: change i goes out at t0 + i/rate whether or not earlier events arrived.
      const due = t0 + i * interval;
      const wait = due - nowMs();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      for (; i < changes && t0 + i * interval <= nowMs(); i++) {
        const m = i >> 1;
        sent[i] = nowMs();
        writes.push(i % 2 === 0 ? writer.set(`${PREFIX}${m + LAG}`, rng.hex(16), "PX", 600_000) : writer.del(`${PREFIX}${m}`));
      }
      if (i >= nextLog) {
        nextLog += o.rate * 10;
        const at = ((nowMs() - t0) / 1000).toFixed(1);
        void ui.feed().then(
          (f) => o.log(`  ${i} changes sent, ${at} s; feed: ${f}`),
          () => {},
        );
      }
    }
    await Promise.all(writes);
    const windowMs = nowMs() - t0;
    const c1 = cpu();
    const loadEnd = loadavg();
    const rssKb = processTreeRss(ui.server.pid).reduce((a, p) => a + p.rssKb, 0);
    const feedEnd = (await ui.feed()) ?? "?";
    o.log(`${changes} changes in ${(windowMs / 1000).toFixed(1)} s; server CPU ${((c1.server - c0.server) / windowMs).toFixed(2)} cores; load ${loadEnd}`);

    // Drain: every client has every event, or DRAIN_MS after the last write.
    let last: Reply | null = null;
    await waitFor(
      async () => {
        child.send({ type: "progress" });
        last = await reply("progress", 10_000);
        return (last.minGot as number) >= changes;
      },
      { timeoutMs: DRAIN_MS, intervalMs: 250, what: "every client's events" },
    ).catch(() => o.log(`  not every event arrived ${DRAIN_MS / 1000} s after the last write: ${JSON.stringify(last)}`));
    const c2 = cpu();
    const drainedMs = nowMs() - t0;
    child.send({ type: "finish", sent });
    const summary = (await reply("summary", 60_000)).summary as FanoutSummary;
    const cores = (a: number, b: number) => (b - a) / windowMs;
    return {
      ...summary,
      redis: version,
      build,
      feed,
      feedEnd,
      openMs: opened.ms as number,
      changes,
      windowS: windowMs / 1000,
      achievedRate: changes / (windowMs / 1000),
      serverCpuCores: cores(c0.server, c1.server),
      serverCpuMsToDrain: c2.server - c0.server,
      drainedS: drainedMs / 1000,
      serverPids,
      clientCpuCores: cores(c0.client, c1.client),
      redisCpuCores: cores(c0.redis, c1.redis),
      benchCpuCores: cores(c0.bench, c1.bench),
      serverRssMb: rssKb / 1024,
      loadStart,
      loadEnd,
    };
  } finally {
    for (const c of cleanups) await c();
  }
}

if (require.main === module) {
  const seconds = Number(process.argv[2] ?? 60);
  printFigures(benchFanout({ clients: Number(process.argv[3] ?? 500), rate: 200, seconds, background: 10_000, log: console.log }));
}
