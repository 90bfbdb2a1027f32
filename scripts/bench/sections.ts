// The etcd, ZooKeeper, Consul, history and waits sections of `npm run bench`: each runs its own
// module (etcd.ts, zookeeper.ts, consul.ts, history.ts, waits.ts) and turns what it returns into
// report rows.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { BULK_ROUNDS, runEtcdBench } from "./etcd";
import { benchZooKeeper, ZK_FLOOR_PRE_RUN, ZK_SNAPSHOT_TARGET } from "./zookeeper";
import { CONSUL_SNAPSHOT_TARGET, CONSUL_UNTIMED_READS, runConsulBench } from "./consul";
import { benchHistory } from "./history";
import { MULTI_RSS_PART } from "./multi";
import { benchWaits } from "./waits";
import { benchFanout, DRAIN_MS } from "./fanout";
import { ANSWER_TIMEOUT_MS, benchBrowser, CHROMIUM, PAGES, SCROLL, SETTLE_MS, TYPED } from "./browser";
import { PRE_RUN_ROUNDS } from "./floor";
import { ms, percentile } from "./stats";
import { QUIET_MS } from "../../components/use-key-filter";
import { ROOT, note, record, setHow, setVersion, type SectionId } from "./report";

// The other stores. etcd and ZooKeeper: 15 rounds of about a second each; with 5, one slow
// round moved the median (ZooKeeper 1.29× and 1.48× in two runs of one code, docs/benchmarks.md).
// ZooKeeper 31: on this 2-core machine one run's floors of the same 11k znodes spread 362–912 ms,
// and the 15-round median of the floor (the same code each time) was 697, 569, 551 and 784 ms in
// four runs within five minutes, the ratio 1.02–1.43×; a round costs about two seconds.
const ETCD = { keys: 100_000, leases: 1_000, rounds: 15, latencyWrites: 200, idleMs: 30_000 };
const ZK = { dirs: 1_000, perDir: 10, rounds: 31, latencyWrites: 100, idleMs: 30_000 };
// 65 s: longer than Consul's default blocking wait (60 s + up to 1/16 jitter), so the window
// shows what a quiet console really sends, re-issued blocking queries included.
// A Consul snapshot round takes tens of milliseconds (100k: about half a second), so more rounds
// cost little and steady the medians.
const CONSUL = { keys: 10_000, sessions: 100, rounds: 31, latencyWrites: 200, idleMs: 65_000, bigKeys: 100_000, bigRounds: 15 };
const HISTORY = { rate: 1_000, seconds: 10, locks: 200 };

const indent = (line: string) => console.log(`  ${line}`);

export async function runEtcd(): Promise<void> {
  setHow("etcd", HOW.etcd());
  const r = await runEtcdBench({ ...ETCD, log: indent });
  setVersion("etcd", `etcd ${r.serverVersion} (single member, loopback, --quota-backend-bytes 4 GiB)`);
  for (const row of r.rows) record(row);
  for (const n of r.notes) note(`etcd: ${n}`);
}

export async function runZooKeeper(): Promise<void> {
  setHow("zookeeper", HOW.zookeeper());
  const r = await benchZooKeeper({ ...ZK, log: indent });
  setVersion("zookeeper", `ZooKeeper ${r.serverVersion} (standalone, loopback, forceSync=no; ${javaVersion()})`);
  for (const row of r.rows) record(row);
  for (const n of r.notes) note(n);
}

export async function runConsul(): Promise<void> {
  setHow("consul", HOW.consul());
  const r = await runConsulBench({ ...CONSUL, log: indent });
  setVersion("consul", `Consul ${r.serverVersion} (one real server agent, bootstrap_expect=1, raft on disk, loopback)`);
  for (const row of r.rows) record(row);
  for (const n of r.notes) note(n.startsWith("Consul") ? n : `Consul: ${n}`);
}

const WAITS = { locks: 100_000, events: 20_000 };
// The issue's figures; BENCH_FANOUT_SECONDS shortens the window for a smoke run (its rows then
// say so and carry no verdict).
const FANOUT = { clients: 500, rate: 200, seconds: 60, background: 10_000 };
const fanoutSeconds = () => Number(process.env.BENCH_FANOUT_SECONDS ?? FANOUT.seconds);

export async function runFanout(): Promise<void> {
  const seconds = fanoutSeconds();
  if (!(seconds > 0)) throw new Error(`BENCH_FANOUT_SECONDS=${process.env.BENCH_FANOUT_SECONDS}: not a positive number`);
  setHow("fanout", HOW.fanout());
  const f = await benchFanout({ ...FANOUT, seconds, log: indent });
  setVersion("fanout", `redis-server ${f.redis} (default config) behind the \`next start\` product server; SSE clients in a forked node process`);
  note(`SSE fan-out: product build: ${f.build}.`);
  const full = seconds >= FANOUT.seconds;
  const verdict = (ok: boolean) => (full ? (ok ? "met" : "MISSED") : "not measured");
  const smoke = full ? "" : ` (SMOKE RUN: ${seconds} s, not the target's ${FANOUT.seconds} s, so no verdict)`;
  const setup = `${f.clients} SSE clients, ${f.changes} lock changes in ${f.windowS.toFixed(1)} s (${f.achievedRate.toFixed(0)}/s)`;
  const load = `load ${f.loadStart} → ${f.loadEnd}`;
  record({
    part: `fan-out: lock change → SSE event at every client, ${setup}${smoke}`,
    result: `over all ${f.samples} deliveries p50 ${ms(f.p50)}, p95 ${ms(f.p95)}, p99 ${ms(f.p99)}, max ${ms(f.max)}; per client p95: median ${ms(f.medianClientP95)}, **worst ${ms(f.worstClientP95)}**; feed: ${f.feed}; ${load}`,
    target: "p95 < 250 ms at every client",
    verdict: verdict(f.worstClientP95 < 250),
  });
  record({
    part: `fan-out: events lost, ${setup}${smoke}`,
    result: `**${f.lostTotal}** of ${f.clients * f.changes} missing ${DRAIN_MS / 1000} s after the last write (${f.clientsWithLoss} clients with a loss, ${f.minLostAtOneClient}–${f.maxLostAtOneClient} per client; **${f.lostAtEveryClient} of the ${f.changes} changes reached no client at all**, i.e. were lost before the fan-out); ${f.reconnects} reconnects (Last-Event-ID), ${f.resyncs} resync hints, ${f.errors} connection errors`,
    target: "none lost",
    verdict: verdict(f.lostTotal === 0),
  });
  // A server that fell behind used only the CPU it got, not what the load needs: the cost per
  // delivered event (first write → drain end) says what it needs.
  const usPerDelivery = (f.serverCpuMsToDrain * 1000) / Math.max(1, f.samples);
  const needed = (usPerDelivery * f.clients * FANOUT.rate) / 1e6;
  const behind = f.lostTotal > 0 ? ` The server fell behind (events still missing), so this is the CPU it got, not what the load needs: ` : " ";
  record({
    part: `fan-out: server CPU, ${setup}${smoke}`,
    result: `**${f.serverCpuCores.toFixed(2)} cores** (utime + stime of the \`next start\` process tree, ${f.serverPids} process(es), over the write window ÷ wall).${behind}${usPerDelivery.toFixed(1)} µs of server CPU per delivered event (${f.samples} deliveries, ${(f.serverCpuMsToDrain / 1000).toFixed(1)} s CPU from the first write to the end of the drain at ${f.drainedS.toFixed(0)} s), i.e. **${needed.toFixed(2)} cores** for ${f.clients} × ${FANOUT.rate} events/s. Meanwhile the SSE client process ${f.clientCpuCores.toFixed(2)}, the bench driver ${f.benchCpuCores.toFixed(2)}, redis-server ${f.redisCpuCores.toFixed(2)} cores, all on the same ${os.availableParallelism()} CPUs; server RSS at the end ${Math.round(f.serverRssMb)} MB; ${load}`,
    target: "< 1 core",
    verdict: verdict(f.serverCpuCores < 1 && needed < 1 && f.lostTotal === 0),
  });
}

export async function runWaits(): Promise<void> {
  setHow("waits", HOW.waits());
  setVersion("waits", "in-process (lib/waits WaitTracker on one EventBus; no store)");
  console.log(`  ${WAITS.locks / 1000}k locks, ${WAITS.events / 1000}k upsert events ...`);
  const f = await benchWaits(WAITS.locks, WAITS.events);
  console.log(`  ${JSON.stringify(f)}`);
  record({
    part: `wait-for graph: one bus event at ${f.locks / 1000}k locks (${f.edges} waits, ${f.deadlocks} deadlocks)`,
    result: `mean ${f.perEventUsMean} µs, p50 ${f.perEventUsP50} µs, **p99 ${f.perEventUsP99} µs** per event (tracker on the publish path, bus alone subtracted; ${f.visitedPerEvent} owners searched per event); a full rebuild takes **${f.rebuildMs} ms**`,
    target: "p99 ≤ 1% of a full rebuild",
    verdict: f.perEventUsP99 / 1000 <= f.rebuildMs / 100 ? "met" : "MISSED",
  });
}

export async function runHistory(): Promise<void> {
  setHow("history", HOW.history());
  const sqlite = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/better-sqlite3/package.json"), "utf8")).version;
  setVersion("history", `SQLite via better-sqlite3 ${sqlite} (WAL, temp dir)`);
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

const BROWSER = { locks: 100_000 };
const JS_LIMIT_BYTES = 250_000;

export async function runBrowser(): Promise<void> {
  setHow("browser", HOW.browser());
  const f = await benchBrowser({ ...BROWSER, log: indent });
  setVersion("browser", `Chromium ${f.chromium} (${CHROMIUM}, headless, Playwright) against the \`next start\` product server on redis-server ${f.redis}`);
  note(`Browser: product build: ${f.build}.`);
  const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`;
  for (const p of f.pages) {
    record({
      part: `first-load JS, \`${p.path}\``,
      result: `**${kb(p.gzipBytes)} gzip** (${p.scripts} scripts, ${kb(p.rawBytes)} uncompressed; ${kb(p.wireBytes)} on the wire, served ${p.encodings.join("/")})`,
      target: "≤ 250 kB gzip",
      verdict: p.gzipBytes <= JS_LIMIT_BYTES ? "met" : "MISSED",
    });
  }
  const s = f.scroll;
  record({
    part: `lock table scroll at ${f.locks / 1000}k rows, ${SCROLL.pxPerFrame} px per animation frame for ${SCROLL.seconds} s`,
    result: `frame time p50 ${ms(s.p50)}, **p95 ${ms(s.p95)}**, max ${ms(s.max)} over ${s.frames} frames (${s.rows} rows scrolled past); ${s.longTasks} long tasks (${Math.round(s.longTaskMs)} ms); placeholder rows (page not loaded yet) on screen in ${s.framesWithPlaceholders} of ${s.sampledFrames} sampled frames; load ${s.load}`,
    target: "p95 < 20 ms",
    verdict: s.p95 < 20 ? "met" : "MISSED",
  });
  const k = f.filter;
  const toUrl = k.keystrokes.map((x) => x.toUrlMs).filter((x) => x >= 0);
  const toTable = k.keystrokes.map((x) => x.toTableMs).filter((x) => x >= 0);
  record({
    part: `filter-as-you-type at ${f.locks / 1000}k rows: keypress → table showing the answer, "${TYPED}" typed one key at a time`,
    result: `p50 ${ms(k.p50)}, **p95 ${ms(k.p95)}**, max ${ms(k.max)} over ${k.keystrokes.length} answered keystrokes; of that, keypress → the table showing the answer (URL aside) ${ms(percentile(toTable, 50))} median, p95 ${ms(percentile(toTable, 95))}, keypress → the filter reaching the URL (it follows ${QUIET_MS} ms after typing stops) ${ms(percentile(toUrl, 50))} median; ${k.unanswered.length ? `**${k.unanswered.length} keystroke(s) never answered within ${ANSWER_TIMEOUT_MS / 1000} s** (${k.unanswered.map((u) => `"${u.typed}": the page showed ${JSON.stringify(u.seen)}`).join("; ")})` : "every keystroke answered"}; load ${k.load}`,
    target: "< 150 ms",
    verdict: k.unanswered.length === 0 && k.p95 < 150 ? "met" : "MISSED",
  });
}

/** What a section would have reported, for its FAILED rows when it could not run at all. */
export const TARGETS: Record<Exclude<SectionId, "redis">, Array<[string, string]>> = {
  redis1m: [
    ["1. snapshot vs floor, 1M keys", "≤ 1.3×"],
    ["6. console start → live with 1M locks", "goes live"],
    ["4. server RSS holding 1M locks", "≤ 1500 MB"],
    ["5. lock table API at 1M", "p95 < 100 ms"],
  ],
  multi: [[MULTI_RSS_PART, "≤ 800 MB"]],
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
    ["Consul snapshot vs raw read", `≤ ${CONSUL_SNAPSHOT_TARGET}× floor`],
    ["Consul snapshot vs raw read, 100k", `≤ ${CONSUL_SNAPSHOT_TARGET}× floor`],
    ["Consul KV change → hub upsert", "p95 < 250 ms"],
    ["Consul idle", "one open blocking query per prefix"],
  ],
  history: [["recorder overhead at 1,000 events/s", "—"]],
  waits: [["wait-for graph: one bus event at 100k locks", "p99 ≤ 1% of a full rebuild"]],
  fanout: [
    ["fan-out: lock change → SSE event at every client (500 clients, 200 changes/s)", "p95 < 250 ms at every client"],
    ["fan-out: events lost", "none lost"],
    ["fan-out: server CPU", "< 1 core"],
  ],
  browser: [
    ["first-load JS per page", "≤ 250 kB gzip"],
    ["lock table scroll at 100k rows", "p95 < 20 ms"],
    ["filter-as-you-type at 100k rows", "< 150 ms"],
  ],
};

function javaVersion(): string {
  // `java -version` writes to stderr.
  const r = spawnSync("java", ["-version"], { encoding: "utf8", timeout: 10_000 });
  return `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n")[0] || "java ?";
}

const HOW: Record<Exclude<SectionId, "redis" | "redis1m" | "multi">, () => string> = {
  etcd: () => `### etcd (scripts/bench/etcd.ts)

- **Data.** ${ETCD.keys / 1000}k keys in the Go \`concurrency.Mutex\` layout under \`bench/\` (\`bench/job-<i>/<lease hex>\`): 80% locks with
  one holder, the rest a holder plus one waiter, on ${ETCD.leases} leases (1 h TTL), written in 128-op txns.
- **Snapshot vs floor.** The floor is a plain etcd3 paged range (values, revision pinned at the first page), nothing
  else, with the fastest of 2000/5000/10000/20000/50000 keys per page in a pre-run (shown in the row); the snapshot is
  \`EtcdAdapter.snapshot()\` with its default \`pageSize\` (count, a first page of that many keys then growing ones, LeaseTimeToLive of every
  holder's lease, decode). The adapter reads Range and LeaseTimeToLive replies with its own protobuf codec
  (lib/stores/etcd/wire.ts) on etcd3's connections; the floor pays etcd3's generic decode, which costs more node CPU
  than the adapter's whole range read now does, so a floor that decoded as leanly would be lower still. ${PRE_RUN_ROUNDS} untimed snapshots (the floor's pre-run reads each page size ${PRE_RUN_ROUNDS}×), then ${ETCD.rounds} rounds, alternating order, each read after a full GC (so neither pays the other's garbage); medians. Also shown: CPU time of node + the etcd process, and the decode alone on the same entries.
- **etcd's read buffer.** etcd 3.4 copies its backend's read buffer, at the length it once grew to, for every request
  whose answer carries a revision (LeaseTimeToLive too), and shrinks it only after a commit that wrote no key
  (\`mvcc/backend/tx_buffer.go\`). The bulk load grows it to thousands of entries. So the snapshot is read first for
  ${BULK_ROUNDS} rounds right after the load (the row "right after the bulk load", no target), then after one lease granted and
  revoked and a commit, which is what any later write cycle that does not touch the keys does (the target's row).
- **Watch → hub.** A \`Hub\` over the adapter runs **in the bench process** with the ${ETCD.keys / 1000}k keys loaded; ${ETCD.latencyWrites} puts of new
  lock keys, each awaited then 20 ms apart; latency = the hub's \`upsert\` on its EventBus − just before the put.
  **This is the hub, not SSE**: the Next route handler and HTTP hop are not in it (the Redis row 2 measures that hop).
- **Idle.** The adapter's own counters (\`ranges\`, \`snapshots\`, \`leaseCalls\`) over a ${ETCD.idleMs / 1000} s window, hub live, nothing changing.`,
  zookeeper: () => `### ZooKeeper (scripts/bench/zookeeper.ts)

- **Data.** ${ZK.dirs} Curator-style lock dirs \`/locks/job-<i>\`, each with ${ZK.perDir} ephemeral-sequential contenders
  \`_c_<uuid>-lock-<seq>\` (data: an IP) = ${(ZK.dirs * ZK.perDir) / 1000}k lock nodes.
- **Snapshot vs floor.** Floor: getChildren of every dir + getData of every node, pipelined on a separate session, no
  sync, no decoding, the fastest of 8 reads in a pre-run (shown in the row): node-zookeeper-client's own calls (callbacks,
  as a plain client makes them, one request each) with 64/256/1024/4096 requests in flight, or the same reads in
  multiRead requests (ZooKeeper 3.6+; the library has none, so through LockDeck's lib/stores/zookeeper/lean.ts): 64
  reads a request with 8 out, 128 with 2 or 8, 256 with 8. Snapshot: \`ZooKeeperAdapter.snapshot()\` (sync, srvr, walk with getData-first and
  watches, each lock dir decoded as soon as its children are read, the rest of the decode); after its first walk every
  watch is armed, so its reads go in multiRead too. ${ZK_FLOOR_PRE_RUN} untimed snapshots (the floor's pre-run reads each
  setting ${ZK_FLOOR_PRE_RUN}× and keeps the one with the best time), then ${ZK.rounds} rounds, alternating order, each read after a full GC; medians. The first
  snapshot (which arms the watches, one request a node) is in the row, not judged. Target ≤ ${ZK_SNAPSHOT_TARGET}× (issue 13).
- **Idle.** The getData / getChildren / exists / multiRead and sync requests an adapter sends are counted on the wire (a second adapter and
  hub behind a pass-through proxy that reads ZooKeeper's protocol) over a ${ZK.idleMs / 1000} s window, hub live, starting 1 s
  after it went live.
- **Watch → hub.** ${ZK.latencyWrites} contender creates, one at a time (each waits for its event, 10 s timeout = lost); latency = the
  hub's \`upsert\` showing the new waiter − just before the create. **Hub (in-process EventBus), not SSE.**`,
  consul: () => `### Consul (scripts/bench/consul.ts)

- **Data.** ${CONSUL.keys / 1000}k held keys under \`bench/\` (90% \`api.Lock\` keys with the lock flag, 10% plain session-held keys) on
  ${CONSUL.sessions} sessions (1 h TTL), written with the txn \`lock\` verb.
- **Snapshot vs floor.** Floor: one \`GET /v1/kv/bench/?recurse\` + \`JSON.parse\`, the faster of node:http (keep-alive) and
  fetch in a pre-run; target ≤ ${CONSUL_SNAPSHOT_TARGET}× (issue 13); snapshot: \`ConsulAdapter.snapshot()\` (?recurse,
  the session list and the node health in parallel, uint64-safe parse while the answer streams in, decode). ${CONSUL_UNTIMED_READS} untimed reads of each (the floor's pre-run reads each candidate as often; the first snapshot's time is in the row), then ${CONSUL.rounds} rounds,
  alternating order, each read after a full GC (so neither pays the other's garbage); medians of wall time and of CPU time (this process + the agent, whose CPU /proc counts in 10 ms ticks).
- **Snapshot at ${CONSUL.bigKeys / 1000}k.** After the parts below, ${CONSUL.bigKeys / 1000}k more held keys of the same mix under \`bench-big/\`, read
  by a second adapter with maxKeysPerPrefix ${CONSUL.bigKeys * 2} (the default, 50k, would refuse the prefix); ${CONSUL.bigRounds} rounds, as above.
- **KV change → hub.** ${CONSUL.latencyWrites} \`PUT ?acquire=\` of new keys, each awaited then 20 ms apart; latency = the hub's \`upsert\` on its
  EventBus − just before the PUT. **Hub (in-process EventBus), not SSE.**
- **Idle.** Every HTTP request the adapter sends is counted (wrapped before the hub starts) over a ${CONSUL.idleMs / 1000} s window
  starting 1 s after the last latency write; "open at the end" is the number of blocking queries in flight then.`,
  waits: () => `### Wait-for graph (scripts/bench/waits.ts)

- ${WAITS.locks / 1000}k mutex records held by ${WAITS.locks / 2000}k owners (two each); every tenth lock has 1-3 waiters, each a client that waits for
  one lock at a time; 40 two-party deadlocks and 20 chains of 10 locks among them. A \`WaitTracker\` subscribed to one
  \`EventBus\` builds its graph from a \`resync\`, then ${WAITS.events / 1000}k \`upsert\` events go through the bus: 60% renewals (same
  holders and waiters), 30% a waiter joins or leaves, 10% a handover, and every 500 events a chain closed into a cycle or
  broken again. Per-event cost = time inside \`publish\` with the tracker, minus the same events on a bus with no
  subscriber. The rebuild row is one \`WaitGraph\` fed every record: what a rebuild per event would cost.`,
  fanout: () => `### SSE fan-out (scripts/bench/fanout.ts, fanout-clients.ts)

- **Server.** The product (\`next start\`, as the Redis section starts it) follows a default redis-server (no keyspace events,
  so the client-tracking feed) holding ${FANOUT.background / 1000}k background locks of the Redis section's mix plus 100 fan-out locks.
- **Clients.** A forked node process opens ${FANOUT.clients} \`GET /api/events?connection=bench\` streams with node:http, one socket each
  (25 every 20 ms), and reads them as EventSource does: frames split on a blank line, reconnect with Last-Event-ID
  if the server ends a stream (counted). It finds the lock key of each \`upsert\`/\`remove\` frame by string search (no JSON
  parse per frame) and stamps its arrival on CLOCK_MONOTONIC (\`process.hrtime\`, the same clock in every process).
  **The server, the client process, the bench driver and redis-server share this machine's ${os.availableParallelism()} CPUs** (with whatever else runs: see the load).
- **Changes.** The bench process sends ${FANOUT.rate} changes/s for ${fanoutSeconds()} s, open loop (change i at start + i/${FANOUT.rate} s, not waiting for
  events), alternating \`SET fan:lock:<m+100> <token> PX 600000\` (an acquire) and \`DEL fan:lock:<m>\` (the release of the lock
  acquired 100 acquires = 1 s earlier), each stamped just before its command. Latency = arrival at a client − that
  stamp, for every (client, change) pair; "lost" = a pair with no event ${DRAIN_MS / 1000} s after the last write.
  BENCH_FANOUT_SECONDS=<s> shortens the window for a smoke run; its rows then say so and carry no verdict.
- **Server CPU.** utime + stime from /proc of the \`next start\` process and its descendants, from the first to the last
  write, ÷ that wall time. A server that falls behind uses only the CPU it gets, so the row also divides its CPU from the
  first write to the end of the drain by the events it delivered, and scales that to ${FANOUT.clients} × ${FANOUT.rate} events/s; the
  target is met only if both are under one core and nothing was lost. BENCH_FANOUT_PROFILE=<dir> has the server write a
  V8 CPU profile there (\`--cpu-prof\`).`,
  browser: () => `### Browser (scripts/bench/browser.ts)

- **Server.** The product (\`next start\`) on a default redis-server holding ${BROWSER.locks / 1000}k locks of the Redis section's mix, live.
  Debian's Chromium (\`${CHROMIUM}\`), headless, driven by Playwright, viewport 1400×900, on the same CPUs as the server.
- **First-load JS.** Each page in a fresh browser context (empty cache): every response of type \`script\` from navigation
  until ${SETTLE_MS / 1000} s after the load event (so chunks loaded right after load count), each distinct URL once; the bytes the browser
  received are gzipped here (zlib default level) and summed. "On the wire" is Chromium's encoded body size. Pages:
  ${PAGES.map((p) => `\`${p}\``).join(", ")}. 250 kB = 250,000 bytes.
- **Scroll.** The lock table (${BROWSER.locks / 1000}k rows) loaded; for ${SCROLL.seconds} s, each \`requestAnimationFrame\` callback moves the table's scroller
  ${SCROLL.pxPerFrame} px (5 rows of 28 px) and records the delta to the previous frame's timestamp; p95 of those deltas. Long
  tasks from a \`PerformanceObserver\`. Every 10th frame also notes whether placeholder rows (\`aria-busy\`, their page still
  loading) are on screen: the frame time says the page stays smooth, that figure says whether the rows kept up.
- **Filter-as-you-type.** On a freshly loaded table, "${TYPED}" is typed into the key filter one key at a time; each key waits
  for its answer before the next. Latency = the keydown's \`event.timeStamp\` → the first animation frame in which the
  input holds the text, the URL's \`q\` is it, the total shown equals the server's count for it (asked beforehand), nothing
  is being read, and the first row contains it. The table alone (every condition but the URL) is timed too: the table asks for the
  text as typed, the URL follows ${QUIET_MS} ms after typing stops (\`components/use-key-filter.ts\`). A keystroke with no answer within ${ANSWER_TIMEOUT_MS / 1000} s is reported with what the page
  showed instead (and fails the target); the box is then refilled with the text typed so far (not timed) and typing goes on.`,
  history: () => `### History recorder (scripts/bench/history.ts)

- A driver publishes hub-shaped \`upsert\`/\`remove\` events on one EventBus at ${HISTORY.rate}/s (10 ms ticks) for ${HISTORY.seconds} s, cycling
  ${HISTORY.locks} mutex locks through acquire → waiter joins → handover → release; first with no recorder subscribed
  (baseline), then with a \`Recorder\` on SQLite in a temp dir, flushed once a second by the bench (its own timer off).
- CPU = process user + system time per wall second; the publish-path figure is the difference of time spent inside
  \`publish\` between the two runs, per event (noisy at this size; can come out near zero or negative).`,
};
