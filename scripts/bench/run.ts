// `npm run bench`: LockDeck's performance figures against real servers started here, in one run:
//   Redis (redis.ts): snapshot vs the floor, write/expiry -> SSE, idle cost, server RSS, lock table
//     API, console start -> live;
//   Redis at 1M keys (redis1m.ts): snapshot vs the floor, start -> live, RSS, lock table API;
//     opt-in (6-7 minutes): only `npm run bench -- redis1m` runs it;
//   4 connections × 100k (multi.ts): server RSS with one Redis, etcd, Consul and ZooKeeper connection
//     of ~100k lock keys each; opt-in (about 3 minutes): only `npm run bench -- multi` runs it;
//   etcd, ZooKeeper, Consul (sections.ts -> etcd.ts, zookeeper.ts, consul.ts): snapshot vs the
//     floor, watch -> hub upsert latency (in-process EventBus), idle cost;
//   history (history.ts): recorder overhead at 1,000 lock events per second;
//   waits (waits.ts): the wait-for graph's cost per bus event at 100k locks vs a full rebuild;
//   fanout (fanout.ts): 500 SSE clients on the product server while 200 locks change a second;
//   browser (browser.ts): first-load JS per page, table scroll frame time and filter-as-you-type
//     at 100k locks in Chromium.
// Every floor is the fastest raw read a plain client of that store managed in the same run
// (floor.ts); the report (report.ts) shows its settings.
// `npm run bench -- redis etcd` runs a subset (names: redis, redis1m, multi, etcd, zookeeper|zk, consul, history,
// waits, fanout, browser; default all but the opt-in redis1m and multi). Prints as it goes, then markdown tables,
// and writes the generated block of docs/benchmarks.md. Each section runs in a process of its own
// (runInOwnProcess). The product is rebuilt when .next is missing or older than a source file
// (BENCH_REBUILD=1 forces it); if it cannot be built, Redis parts 2-6 run in-process and say so.
// BENCH_INPROC=1 skips the server.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runRedis } from "./redis";
import { runRedis1m } from "./redis1m";
import { runMulti } from "./multi";
import { TARGETS, runBrowser, runConsul, runEtcd, runFanout, runHistory, runWaits, runZooKeeper } from "./sections";
import { since } from "./stats";
import {
  ALIASES,
  SECTIONS,
  absorbSection,
  loadavg,
  optInNames,
  machine,
  note,
  record,
  rowsOf,
  sectionRan,
  sectionState,
  startSection,
  table,
  tally,
  titleOf,
  writeDoc,
  type SectionId,
  type SectionState,
} from "./report";

const RUNNERS: Record<SectionId, () => Promise<void>> = {
  redis: runRedis,
  redis1m: runRedis1m,
  multi: runMulti,
  etcd: runEtcd,
  zookeeper: runZooKeeper,
  consul: runConsul,
  history: runHistory,
  waits: runWaits,
  fanout: runFanout,
  browser: runBrowser,
};

function parseArgs(argv: string[]): SectionId[] {
  const names = argv.filter((a) => a !== "--").map((a) => a.toLowerCase());
  if (names.some((a) => a === "-h" || a === "--help")) {
    console.log(`usage: npm run bench [-- ${SECTIONS.map((s) => s.id).join(" ")}]   (default: all but ${optInNames()}; zk = zookeeper)`);
    process.exit(0);
  }
  const unknown = names.filter((a) => !(a in ALIASES));
  if (unknown.length) {
    console.error(`unknown bench section(s): ${unknown.join(", ")}; known: ${Object.keys(ALIASES).join(", ")}`);
    process.exit(2);
  }
  const wanted = new Set(names.map((a) => ALIASES[a]));
  return SECTIONS.filter((s) => (wanted.size ? wanted.has(s.id) : !s.optIn)).map((s) => s.id);
}

/**
 * Each section runs in a process of its own (this script again, with SECTION_FLAG), so what one
 * section leaves in a process (a heap grown by 100k Redis records, code V8 optimised for
 * another store, a server's client still reconnecting) cannot change another's figures: a
 * section measures the same whether it runs alone or after the others. The Consul 100k floor
 * read 141–189 ms in seven Consul-only runs, and 190 and 260 ms in the two runs where Consul
 * came after the other sections in one process (docs/benchmarks.md, "Consul, sixth round").
 * The child writes what it recorded (report.ts SectionState) to a file; a child that ends
 * without writing it failed.
 */
const SECTION_FLAG = "--section-process";

async function runInOwnProcess(id: SectionId): Promise<boolean> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockdeck-bench-"));
  const out = path.join(dir, `${id}.json`);
  try {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1], SECTION_FLAG, id, out], { stdio: "inherit" });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (c, signal) => resolve(signal ? null : c));
    });
    if (code !== 0) process.exitCode = 1;
    if (!fs.existsSync(out)) {
      recordFailure(id, `its process ended (exit ${code ?? "by a signal"}) before writing its figures`);
      return false;
    }
    absorbSection(id, JSON.parse(fs.readFileSync(out, "utf8")) as SectionState);
    return code !== SECTION_THREW;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The child's exit code when the section threw or could not start (1: a part failed, its row says so). */
const SECTION_THREW = 2;

/** The child's side: runs one section, writes what it recorded to `out`, exits non-zero when something failed. */
async function runSectionHere(id: SectionId, out: string): Promise<never> {
  if (!RUNNERS[id] || !out) {
    console.error(`usage: ${SECTION_FLAG} <section> <file>; sections: ${SECTIONS.map((s) => s.id).join(", ")}`);
    process.exit(SECTION_THREW);
  }
  startSection(id);
  let ok = true;
  try {
    await RUNNERS[id]();
  } catch (err) {
    ok = false;
    console.error(`  ${titleOf(id)} FAILED: ${(err as Error).stack ?? err}`);
    recordFailure(id, (err as Error).message.split("\n")[0]);
  }
  fs.writeFileSync(out, JSON.stringify(sectionState(id)));
  // Clients of stopped servers may still hold reconnect timers; the figures are written.
  process.exit(!ok ? SECTION_THREW : process.exitCode ? 1 : 0);
}

/** A failed section's rows: its parts not measured, or the remaining ones when some were. */
function recordFailure(id: SectionId, msg: string): void {
  const title = titleOf(id);
  startSection(id);
  note(`**${title} failed:** ${msg}`);
  if (id === "redis") record({ part: "Redis section", result: `failed: ${msg}`, target: "—", verdict: "FAILED" });
  else if (rowsOf(id).length === 0) {
    for (const [part, target] of TARGETS[id]) record({ part, result: `not measured: the section failed (${msg})`, target, verdict: "FAILED" });
  } else record({ part: `${title}: remaining parts`, result: `not measured: the section failed (${msg})`, target: "—", verdict: "FAILED" });
}

async function main(): Promise<void> {
  const child = process.argv.indexOf(SECTION_FLAG);
  if (child >= 0) return runSectionHere(process.argv[child + 1] as SectionId, process.argv[child + 2]);
  const argv = process.argv.slice(2);
  const selected = parseArgs(argv);
  const args = argv.filter((a) => a !== "--");
  const envVars = Object.entries(process.env)
    .filter(([k]) => k.startsWith("BENCH_"))
    .map(([k, v]) => `${k}=${v} `)
    .join("");
  const command = `${envVars}npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
  const started = new Date();
  const t0 = performance.now();
  const env = machine();
  console.log(`# LockDeck bench, ${started.toISOString()}: ${selected.join(", ")}\n${env.join("\n")}`);
  for (const id of selected) {
    const title = titleOf(id);
    console.log(`\n# ${title}  (load ${loadavg()}, ${(since(t0) / 1000) | 0} s into the run)`);
    const s0 = performance.now();
    const loadStart = loadavg();
    const ok = await runInOwnProcess(id);
    sectionRan({ id, seconds: since(s0) / 1000, loadStart, loadEnd: loadavg(), ok });
  }
  const runtimeS = since(t0) / 1000;
  for (const id of selected) console.log(`\n## ${titleOf(id)}\n${table(id)}`);
  console.log(`\n${tally(selected)}\n\nruntime ${runtimeS.toFixed(0)} s`);
  writeDoc(started, runtimeS, env, selected, command);
  console.log("wrote docs/benchmarks.md");
  // Clients of stopped servers may still hold reconnect timers; the figures are written.
  process.exit();
}

void main();
