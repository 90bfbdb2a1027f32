// Consul figures for `npm run bench` (the runner and docs/benchmarks.md are wired elsewhere):
//   1. 10k lock keys: decoded adapter.snapshot() vs the raw recursive KV read floor, same run,
//      rounds interleaved, wall and CPU time (target: snapshot <= 1.5 x floor);
//   2. KV change -> hub `upsert` latency through blocking queries, in-process (the hub's
//      EventBus, not SSE over HTTP), with the 10k locks loaded (target p95 < 250 ms);
//   3. idle: what the console sends while nothing changes (target: one open blocking query per
//      watched prefix, plus one on the session list);
//   4. with `bigKeys`: part 1 again over that many keys on a prefix of their own.
//
//   npx tsx scripts/bench/consul.ts          (prints the rows as JSON at the end)
//
// Data under bench/: 9,000 api.Lock keys (LockFlagValue) and 1,000 plain session-held keys,
// held by 100 sessions (1 h TTL), written with the txn "lock" verb, 128 ops per txn.

import { startConsul, type ConsulServer } from "../servers/consul";
import { hubUpsertLatency } from "./hub-latency";
import { waitFor } from "../servers/process";
import { ConsulAdapter } from "../../lib/stores/consul/adapter";
import { ConsulConnectionSchema } from "../../lib/stores/consul/config";
import { ConsulHttp, kvPath } from "../../lib/stores/consul/http";
import { MAX_TXN_OPS, txnJson } from "../../lib/stores/consul/release";
import { LOCK_FLAGS } from "../../lib/formats/consul/entry";
import { Hub } from "../../lib/hub/hub";
import { EventBus } from "../../lib/hub/bus";
import os from "node:os";
import { collectGarbage, median, ms, ownCpuMs, procCpuMs, since } from "./stats";
import { pairRound, pickFloor, untimedReads } from "./floor";

export interface ConsulBenchRow {
  part: string;
  result: string;
  target: string;
  verdict: "met" | "MISSED" | "—";
}

export interface ConsulBenchResult {
  rows: ConsulBenchRow[];
  figures: SnapshotFigures & {
    keys: number;
    sessions: number;
    big?: SnapshotFigures;
    latencyMs: { p50: number; p95: number; p99: number; n: number; lost: number };
    idle: { ms: number; blockingOpen: number; blockingIssued: number; kvOrSessionReads: number; healthChecks: number; other: number };
  };
  notes: string[];
  /** The agent's own version (/v1/agent/self), as served in this run. */
  serverVersion: string;
}

export interface ConsulBenchOptions {
  keys?: number;
  sessions?: number;
  rounds?: number;
  latencyWrites?: number;
  idleMs?: number;
  /** Also measure the snapshot over this many keys (on a prefix of their own), after the rest. */
  bigKeys?: number;
  bigRounds?: number;
  log?: (line: string) => void;
}

export const PREFIX = "bench/";
/** Where the larger snapshot's keys go (their own prefix, so the 10k parts' keys are not in it). */
export const BIG_PREFIX = "bench-big/";
/** Issue 13: Consul snapshot ≤ 1.5× its floor (decode and the session list on top of one ?recurse). */
export const CONSUL_SNAPSHOT_TARGET = 1.5;

export async function runConsulBench(o: ConsulBenchOptions = {}): Promise<ConsulBenchResult> {
  const n = o.keys ?? 10_000;
  const sessionCount = o.sessions ?? 100;
  const rounds = o.rounds ?? 7;
  const writes = o.latencyWrites ?? 200;
  const idleMs = o.idleMs ?? 30_000;
  const log = o.log ?? ((l: string) => console.log(l));
  const notes: string[] = [];
  const rows: ConsulBenchRow[] = [];

  // A real single server (not -dev): compact JSON and raft on disk, as in production.
  const consul = await startConsul({ mode: "server" });
  const cfg = ConsulConnectionSchema.parse({ id: "bench", kind: "consul", url: consul.url, prefixes: [PREFIX] });
  const raw = new ConsulHttp(cfg);
  const adapter = new ConsulAdapter("bench", cfg);
  let hub: Hub | null = null;
  try {
    const serverVersion = await consulVersion(raw);
    // ---- data -------------------------------------------------------------------------------
    let t = performance.now();
    const sessions = await writeConsulLocks(raw, n, sessionCount);
    log(`consul bench: wrote ${n} held lock keys on ${sessionCount} sessions in ${ms(since(t))}`);

    // ---- 1. snapshot vs floor ---------------------------------------------------------------
    const snap = await snapshotVsFloor({ consul, raw, adapter, prefix: PREFIX, n, sessionCount, rounds, log });
    rows.push(snap.row);

    // Every request the adapter sends from here on, and which blocking queries are open now.
    const http = (adapter as unknown as { http: ConsulHttp }).http;
    const original = http.request.bind(http);
    const sent: Array<{ path: string; blocking: boolean; recurse: boolean }> = [];
    let blockingInFlight = 0;
    http.request = ((method, path, ro) => {
      const blocking = ro?.query?.index !== undefined;
      sent.push({ path, blocking, recurse: ro?.query?.recurse !== undefined });
      if (!blocking) return original(method, path, ro);
      blockingInFlight++;
      return original(method, path, ro).finally(() => blockingInFlight--);
    }) as ConsulHttp["request"];

    // ---- 2. KV change -> hub upsert ----------------------------------------------------------
    const bus = new EventBus();
    hub = new Hub("bench", adapter, bus, { healthIntervalMs: 3_000 });
    hub.start();
    await waitFor(async () => hub!.statusEvent().mode === "live" && hub!.statusEvent().lockCount === n, {
      timeoutMs: 120_000,
      what: "the hub live with every lock",
    });
    const latencyMs = await hubUpsertLatency(
      bus,
      writes,
      async (i, started) => {
        const key = `${PREFIX}lat-${i}`;
        started(key);
        await raw.call("PUT", `${kvPath(key)}`, { query: { acquire: sessions[i % sessionCount] }, body: "x" });
      },
      { timeoutMs: 60_000 },
    );
    const lat = latencyMs.samples;
    const lost = latencyMs.lost;
    rows.push({
      part: `Consul KV change → **hub** upsert via blocking queries (in-process EventBus, NOT SSE), ${writes} acquires 20 ms apart`,
      result: `p50 ${ms(latencyMs.p50)}, p95 **${ms(latencyMs.p95)}**, p99 ${ms(latencyMs.p99)}, max ${ms(Math.max(...lat))} over ${lat.length} acquires; ${lost} lost after 60 s; ${n} locks loaded`,
      target: "p95 < 250 ms, none lost",
      verdict: latencyMs.p95 < 250 && lost === 0 ? "met" : "MISSED",
    });
    notes.push(
      "Latency runs from just before the ?acquire PUT to the hub publishing the upsert: the blocking query on the prefix returns the whole prefix (Consul has no per-key diff), the adapter diffs ModifyIndexes, then re-reads that key and its session. The SSE hop is not in it.",
    );

    // ---- 3. idle -----------------------------------------------------------------------------
    // Let the re-reads of the last acquires settle before the window opens.
    await new Promise((r) => setTimeout(r, 1_000));
    const from = sent.length;
    t = performance.now();
    await new Promise((r) => setTimeout(r, idleMs));
    const inWindow = sent.slice(from);
    const expected = cfg.prefixes.length + 1;
    // A health check is the leader's address and one read of the first prefix's own key at the
    // connection's consistency (its headers say whether reads are served): no lock read.
    const isHealth = (x: { path: string; blocking: boolean; recurse: boolean }) =>
      x.path === "/v1/status/leader" || (!x.blocking && !x.recurse && x.path === kvPath(cfg.prefixes[0]));
    const isRead = (p: string) => p.startsWith("/v1/kv") || p.startsWith("/v1/session");
    const idle = {
      ms: since(t),
      // Measured: blocking queries in flight at the end of the window.
      blockingOpen: blockingInFlight,
      blockingIssued: inWindow.filter((x) => x.blocking).length,
      kvOrSessionReads: inWindow.filter((x) => !x.blocking && !isHealth(x) && isRead(x.path)).length,
      healthChecks: inWindow.filter((x) => x.path === "/v1/status/leader").length,
      other: inWindow.filter((x) => !x.blocking && !isHealth(x) && !isRead(x.path)).length,
    };
    const otherPaths = [...new Set(inWindow.filter((x) => !x.blocking && !isHealth(x) && !isRead(x.path)).map((x) => x.path))];
    rows.push({
      part: `Consul idle ${Math.round(idle.ms / 1000)} s with ${n} locks live`,
      result: `**${idle.blockingOpen}** blocking queries open at the end (expected ${expected}: ${cfg.prefixes.length} prefix + sessions, wait ${cfg.blockingWaitSec} s); ${idle.blockingIssued} blocking queries (re)issued in the window; **${idle.kvOrSessionReads}** non-blocking KV/session reads; ${idle.healthChecks} health checks (every 3 s: /v1/status/leader and a read of the first prefix's own key); ${idle.other} other requests${otherPaths.length ? ` (${otherPaths.join(", ")})` : ""}`,
      target: "one open blocking query per prefix (+ sessions), no other reads",
      verdict: idle.blockingOpen === expected && idle.kvOrSessionReads === 0 ? "met" : "MISSED",
    });
    notes.push(
      `Consul idle: each blocking query returns at the latest after wait=${cfg.blockingWaitSec}s (+ up to 1/16 jitter) and is re-issued, so a quiet console costs one full prefix read (the whole ${n}-key answer) and one session-list read per ${cfg.blockingWaitSec} s; a ${Math.round(idleMs / 1000)} s window ${idleMs < cfg.blockingWaitSec * 1000 ? "is shorter than that wait, so it may show none of these re-issues" : "covers at least one such re-issue per query"}.`,
    );
    // ---- 4. the snapshot at a larger scale, on its own prefix (the hub above is stopped first) --
    let big: { row: ConsulBenchRow; figures: SnapshotFigures } | undefined;
    if (o.bigKeys) {
      await hub.stop();
      hub = null;
      t = performance.now();
      await writeConsulLocks(raw, o.bigKeys, sessionCount, BIG_PREFIX);
      log(`consul bench: wrote ${o.bigKeys} more held lock keys under ${BIG_PREFIX} in ${ms(since(t))}`);
      // The default maxKeysPerPrefix (50k) would refuse this prefix: the row says the setting.
      const bigCfg = ConsulConnectionSchema.parse({
        id: "bench-big",
        kind: "consul",
        url: consul.url,
        prefixes: [BIG_PREFIX],
        maxKeysPerPrefix: o.bigKeys * 2,
      });
      const bigAdapter = new ConsulAdapter("bench-big", bigCfg);
      try {
        big = await snapshotVsFloor({
          consul,
          raw,
          adapter: bigAdapter,
          prefix: BIG_PREFIX,
          n: o.bigKeys,
          sessionCount,
          rounds: o.bigRounds ?? 5,
          log,
          setting: `maxKeysPerPrefix ${bigCfg.maxKeysPerPrefix}`,
        });
        rows.push(big.row);
      } finally {
        await bigAdapter.close();
      }
    }
    return { rows, figures: { keys: n, sessions: sessionCount, ...snap.figures, latencyMs, idle, ...(big && { big: big.figures }) }, notes, serverVersion };
  } finally {
    await hub?.stop();
    await adapter.close();
    raw.close();
    await consul.stop();
  }
}

interface SnapshotFigures {
  /** The first (untimed) snapshot of this prefix in this adapter, the first in the process at 10k. */
  firstSnapshotMs: number;
  floorMs: number[];
  snapshotMs: number[];
  floorCpuMs: number[];
  snapshotCpuMs: number[];
  ratio: number;
  cpuRatio: number;
}

/** The floor's pre-run reads of each candidate, and so the snapshot's untimed reads (floor.ts untimedReads). */
export const CONSUL_UNTIMED_READS = 3;

/**
 * Snapshot vs floor on one prefix of `n` held keys: the floor picked in a pre-run (one
 * ?recurse + JSON.parse through node:http or fetch, CONSUL_UNTIMED_READS each), as many
 * untimed snapshots, then `rounds` interleaved pairs with wall and CPU time (this process + the
 * Consul agent), each read after a full GC. The row carries both.
 */
async function snapshotVsFloor(c: {
  consul: ConsulServer;
  raw: ConsulHttp;
  adapter: ConsulAdapter;
  prefix: string;
  n: number;
  sessionCount: number;
  rounds: number;
  log: (line: string) => void;
  /** A non-default adapter setting the row must show. */
  setting?: string;
}): Promise<{ row: ConsulBenchRow; figures: SnapshotFigures }> {
  const { consul, raw, adapter, prefix, n, rounds, log } = c;
  const signal = new AbortController().signal;
  // One recursive GET of the prefix and a JSON.parse of the answer, through two plain clients:
  // node:http (keep-alive, as lib/stores/consul/http.ts) and the global fetch (undici).
  const picked = await pickFloor(
    [
      {
        label: `one GET /v1/kv/${prefix}?recurse + JSON.parse, node:http keep-alive`,
        read: async () => (JSON.parse((await raw.call("GET", kvPath(prefix), { query: { recurse: true }, signal })).body.toString("utf8")) as unknown[]).length,
      },
      {
        label: `one GET /v1/kv/${prefix}?recurse + res.json(), fetch (undici)`,
        read: async () => ((await (await fetch(`${consul.url}${kvPath(prefix)}?recurse=true`, { signal })).json()) as unknown[]).length,
      },
    ],
    n,
    { log, rounds: CONSUL_UNTIMED_READS, beforeEach: collectGarbage },
  );
  const floor = picked.best.read;
  const firstMs = await untimedReads(picked.rounds, () => adapter.snapshot(signal), collectGarbage);
  // CPU too (this process + the agent): on a shared machine wall time mostly measures the
  // neighbours; CPU time is the work each read costs.
  const cpu = () => ownCpuMs() + procCpuMs(consul.pid());
  const f: SnapshotFigures = { firstSnapshotMs: firstMs, floorMs: [], snapshotMs: [], floorCpuMs: [], snapshotCpuMs: [], ratio: 0, cpuRatio: 0 };
  const timedFloor = async () => {
    collectGarbage();
    const [c0, t0] = [cpu(), performance.now()];
    const got = await floor();
    f.floorMs.push(since(t0));
    f.floorCpuMs.push(cpu() - c0);
    if (got !== n) throw new Error(`floor read ${got} keys, expected ${n}`);
  };
  const timedSnapshot = async () => {
    collectGarbage();
    const [c0, t0] = [cpu(), performance.now()];
    const snap = await adapter.snapshot(signal);
    f.snapshotMs.push(since(t0));
    f.snapshotCpuMs.push(cpu() - c0);
    if (snap.locks.length !== n || snap.locks.some((l) => l.state !== "held"))
      throw new Error(`snapshot decoded ${snap.locks.length} locks, expected ${n} held`);
  };
  for (let r = 0; r < rounds; r++) {
    await pairRound(r, timedFloor, timedSnapshot);
    log(`  round ${r + 1}: floor ${ms(f.floorMs[r])} (cpu ${ms(f.floorCpuMs[r])}), snapshot ${ms(f.snapshotMs[r])} (cpu ${ms(f.snapshotCpuMs[r])})`);
  }
  f.ratio = median(f.snapshotMs) / median(f.floorMs);
  f.cpuRatio = median(f.snapshotCpuMs) / median(f.floorCpuMs);
  const row: ConsulBenchRow = {
    part: `Consul snapshot, ${n} lock keys on ${c.sessionCount} sessions${c.setting ? ` (${c.setting})` : ""}`,
    result: `floor ${ms(median(f.floorMs))} (${range(f.floorMs)}; ${picked.best.label}), decoded snapshot ${ms(median(f.snapshotMs))} (${range(f.snapshotMs)}; ?recurse and /v1/session/list in parallel, uint64-safe parse while the answer streams in, decode, node health): ratio **${f.ratio.toFixed(2)}×** wall (per round: ${f.snapshotMs.map((x, i) => (x / f.floorMs[i]).toFixed(2)).join(", ")}); CPU (node + agent, the agent's in 10 ms ticks) ${ms(median(f.floorCpuMs))} vs ${ms(median(f.snapshotCpuMs))}: ${f.cpuRatio.toFixed(2)}×; median of ${rounds} after ${picked.rounds} untimed reads of each; the first snapshot (untimed) took ${ms(firstMs)}, ${(firstMs / median(f.floorMs)).toFixed(2)}× the floor's median; load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores. Floor ${picked.summary}`,
    target: `≤ ${CONSUL_SNAPSHOT_TARGET}× floor`,
    verdict: f.ratio <= CONSUL_SNAPSHOT_TARGET ? "met" : "MISSED",
  };
  return { row, figures: f };
}

/** The agent's own version (/v1/agent/self). */
export async function consulVersion(raw: ConsulHttp): Promise<string> {
  const self = await raw.call("GET", "/v1/agent/self");
  return (JSON.parse(self.body.toString()) as { Config?: { Version?: string } }).Config?.Version ?? "?";
}

/** The bench's Consul data under `prefix` (the mix in the header), written with the txn "lock" verb. */
export async function writeConsulLocks(raw: ConsulHttp, n: number, sessionCount: number, prefix = PREFIX): Promise<string[]> {
  const sessions: string[] = [];
  for (let i = 0; i < sessionCount; i++) {
    const a = await raw.call("PUT", "/v1/session/create", { body: JSON.stringify({ Name: `bench-${i}`, TTL: "3600s", LockDelay: "1s" }) });
    sessions.push((JSON.parse(a.body.toString()) as { ID: string }).ID);
  }
  const ops = Array.from({ length: n }, (_, i) => ({
    Verb: "lock",
    Key: `${prefix}${i < n * 0.9 ? "job" : "leader"}-${i}`,
    Value: Buffer.from(`worker-${i % 97}`).toString("base64"),
    Flags: i < n * 0.9 ? LOCK_FLAGS : "0",
    Session: sessions[i % sessionCount],
  }));
  for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
    const a = await raw.request("PUT", "/v1/txn", { body: txnJson(ops.slice(i, i + MAX_TXN_OPS)) });
    if (a.status !== 200) throw new Error(`txn: ${a.status} ${a.body.toString().slice(0, 300)}`);
  }
  return sessions;
}

function range(xs: number[]): string {
  return `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
}

if (require.main === module) {
  runConsulBench().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
