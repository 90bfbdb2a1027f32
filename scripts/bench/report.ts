// The bench's report: rows as the sections record them, the run's context (machine, load,
// versions), markdown tables, and docs/benchmarks.md. The generated part of that file sits
// between two markers; text outside them (the profile notes, what each change bought) is kept.
// Inside it, each section is its own marked part with its own date, load and notes: a run
// replaces the parts of the sections it ran and keeps the others from the file as they were.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

export type SectionId = "redis" | "redis1m" | "multi" | "etcd" | "zookeeper" | "consul" | "history" | "waits" | "fanout" | "browser";
/** `optIn`: not in the default set (too long for every run); runs only when named. */
export const SECTIONS: Array<{ id: SectionId; title: string; optIn?: boolean }> = [
  { id: "redis", title: "Redis" },
  { id: "redis1m", title: "Redis at 1M keys", optIn: true },
  { id: "multi", title: "4 connections × 100k", optIn: true },
  { id: "etcd", title: "etcd" },
  { id: "zookeeper", title: "ZooKeeper" },
  { id: "consul", title: "Consul" },
  { id: "history", title: "History recorder" },
  { id: "waits", title: "Wait-for graph" },
  { id: "fanout", title: "SSE fan-out" },
  { id: "browser", title: "Browser" },
];
/** The opt-in sections' names, for usage lines. */
export function optInNames(): string {
  return SECTIONS.filter((s) => s.optIn)
    .map((s) => s.id)
    .join(", ");
}

export const ALIASES: Record<string, SectionId> = {
  redis: "redis",
  redis1m: "redis1m",
  multi: "multi",
  etcd: "etcd",
  zookeeper: "zookeeper",
  zk: "zookeeper",
  consul: "consul",
  history: "history",
  waits: "waits",
  fanout: "fanout",
  browser: "browser",
};

export type Verdict = "met" | "MISSED" | "—" | "FAILED" | "not measured";
export interface Row {
  part: string;
  result: string;
  target: string;
  verdict: Verdict;
}

const rows = new Map<SectionId, Row[]>(SECTIONS.map((s) => [s.id, []]));
let current: SectionId = "redis";
const notes = new Map<SectionId, string[]>();
const versions = new Map<SectionId, string>();
const how = new Map<SectionId, string>();
const ran: Array<{ id: SectionId; seconds: number; loadStart: string; loadEnd: string; ok: boolean }> = [];

export function startSection(id: SectionId): void {
  current = id;
}

export function record(r: Row): void {
  rows.get(current)!.push(r);
  console.log(`  => ${r.part}: ${r.result}${r.target !== "—" ? ` (target ${r.target}: ${r.verdict})` : ""}`);
}

export function rowsOf(id: SectionId): Row[] {
  return rows.get(id)!;
}

/** A note for the section running now (written under its table). */
export function note(text: string): void {
  notes.set(current, [...(notes.get(current) ?? []), text]);
}

export function setVersion(id: SectionId, text: string): void {
  versions.set(id, text);
}

/** "How it is measured" text of a section (markdown, starting with a ### heading). */
export function setHow(id: SectionId, text: string): void {
  how.set(id, text);
}

export function sectionRan(entry: (typeof ran)[number]): void {
  ran.push(entry);
}

/** What one section recorded in its own process, handed to the run that started it (run.ts). */
export interface SectionState {
  rows: Row[];
  notes: string[];
  version?: string;
  how?: string;
}

export function sectionState(id: SectionId): SectionState {
  return { rows: rows.get(id)!, notes: notes.get(id) ?? [], version: versions.get(id), how: how.get(id) };
}

/** A section's state from its process, taken in as if it had run here (its rows were printed there). */
export function absorbSection(id: SectionId, s: SectionState): void {
  rows.get(id)!.push(...s.rows);
  if (s.notes.length) notes.set(id, [...(notes.get(id) ?? []), ...s.notes]);
  if (s.version !== undefined) versions.set(id, s.version);
  if (s.how !== undefined) how.set(id, s.how);
}

/** Runs one measured part; a failure becomes a FAILED row instead of ending the run. */
export async function part(name: string, target: string, fn: () => Promise<void>): Promise<void> {
  console.log(`\n## ${name}`);
  try {
    await fn();
  } catch (err) {
    process.exitCode = 1;
    console.error(`  FAILED: ${(err as Error).stack ?? err}`);
    record({ part: name, result: `failed: ${(err as Error).message.split("\n")[0]}`, target, verdict: "FAILED" });
  }
}

/** For a bench module run alone (`npx tsx scripts/bench/<module>.ts`): prints its figures as JSON, then exits. */
export function printFigures(figures: Promise<unknown>): void {
  figures.then(
    (f) => {
      console.log(JSON.stringify(f, null, 2));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" / ");
}

/** The 1-minute load average, for figures that say under what load they were taken. */
export function load1(): string {
  return os.loadavg()[0].toFixed(1);
}

export function range(xs: number[]): string {
  return `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return (e.stderr ?? "").trim() || `? (${e.message.split("\n")[0]})`;
  }
}

export function machine(): string[] {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "?";
  return [
    `Machine: \`nproc\` = ${sh("nproc", [])}; CPU model: ${model}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()}`,
    `Load average (1 / 5 / 15 min) at start: ${loadavg()}`,
  ];
}

function nextVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/next/package.json"), "utf8")).version;
}

export function table(id: SectionId): string {
  const lines = ["| Measurement | Result | Target | Met? |", "|---|---|---|---|"];
  const list = rows.get(id)!;
  // Redis rows by part number (unnumbered last), the others in the order they ran.
  const order = (r: Row) => Number.parseFloat(r.part) || 9;
  const sorted = id === "redis" || id === "redis1m" ? [...list].sort((a, b) => order(a) - order(b)) : list;
  for (const r of sorted) lines.push(`| ${r.part} | ${r.result.replace(/\|/g, "\\|")} | ${r.target} | ${r.verdict} |`);
  return lines.join("\n");
}

interface Verdicts {
  section: string;
  part: string;
  verdict: string;
}

function tallyOf(all: Verdicts[]): string {
  const n = (v: Verdict) => all.filter((r) => r.verdict === v).length;
  const missed = all.filter((r) => r.verdict === "MISSED" || r.verdict === "FAILED").map((r) => `${r.section}: ${r.part.replace(/\*\*/g, "")} (${r.verdict})`);
  return `Targets: **${n("met")} met, ${n("MISSED")} MISSED, ${n("FAILED")} FAILED**${n("not measured") ? `, ${n("not measured")} not measured` : ""}.${missed.length ? `\nMissed or failed:\n${missed.map((m) => `- ${m}`).join("\n")}` : ""}`;
}

export const titleOf = (id: SectionId) => SECTIONS.find((s) => s.id === id)!.title;

/** This run's verdicts for `selected`. */
export function tally(selected: SectionId[]): string {
  return tallyOf(selected.flatMap((id) => rows.get(id)!.map((r) => ({ section: titleOf(id), part: r.part, verdict: r.verdict }))));
}

/** The rows of a section's table as written in the file: first cell and last cell. */
function verdictsIn(part: string, section: string): Verdicts[] {
  return part
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| Measurement |"))
    .map((l) => l.split(/(?<!\\)\|/).map((c) => c.trim()))
    .map((cells) => ({ section, part: cells[1], verdict: cells[cells.length - 2] }));
}

const BEGIN = "<!-- bench:begin (generated by npm run bench; edit outside these markers) -->";
const END = "<!-- bench:end -->";

const partBegin = (id: SectionId) => `<!-- bench:section:${id}:begin -->`;
const partEnd = (id: SectionId) => `<!-- bench:section:${id}:end -->`;

/** A section's part of the generated block in `text` (markers included), or null. */
function partIn(text: string, id: SectionId): string | null {
  const a = text.indexOf(partBegin(id));
  const b = text.indexOf(partEnd(id));
  return a >= 0 && b > a ? text.slice(a, b + partEnd(id).length) : null;
}

/**
 * How the bench's code ran: `npm run bench` runs one esbuild bundle (scripts/bench/bundled.mjs
 * says why and sets the variable); `npx tsx scripts/bench/run.ts` runs one module per file.
 */
const BUILD = process.env.LOCKDECK_BENCH_BUILD === "bundle" ? "bench and lib code bundled by scripts/bench/bundled.mjs" : "under tsx, one module per file";

/** The part of a section that ran now: its table, when and how it ran, its notes and method. */
function sectionPart(id: SectionId, started: Date, command: string): string {
  const r = ran.find((x) => x.id === id);
  const v = versions.get(id);
  const ctx = r ? `${r.seconds.toFixed(0)} s, load (1 / 5 / 15 min) ${r.loadStart} → ${r.loadEnd}${r.ok ? "" : ", **FAILED**"}` : "did not run";
  const list = notes.get(id) ?? [];
  const method = how.get(id)?.replace(/^### [^(\n]*\(/, "### How it is measured (");
  return [
    partBegin(id),
    `## ${titleOf(id)}`,
    `Run ${started.toISOString()} by \`${command}\` (${ctx}; ${BUILD}; in a process of its own); Node ${process.version}, Next ${nextVersion()}${v ? `; ${v}` : ""}.`,
    rows.get(id)!.length ? table(id) : "_No rows: this section did not run._",
    ...(list.length ? [`Notes:\n\n${list.map((n) => `- ${n}`).join("\n")}`] : []),
    ...(method ? [method] : []),
    partEnd(id),
  ].join("\n\n");
}

/**
 * Rewrites the generated block of docs/benchmarks.md: the sections run now replace their parts,
 * the others keep the parts an earlier run wrote (each says when it ran), and the tally covers
 * every part in the block. Text outside the block is kept.
 */
export function writeDoc(started: Date, runtimeS: number, env: string[], selected: SectionId[], command: string): void {
  // LOCKDECK_BENCH_DOC: another file to write (scripts/bench/bundled.test.ts), not the repo's.
  const file = process.env.LOCKDECK_BENCH_DOC ?? path.join(ROOT, "docs", "benchmarks.md");
  const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const b = old.indexOf(BEGIN);
  const e = old.indexOf(END);
  const oldBlock = b >= 0 && e > b ? old.slice(b, e) : "";
  const parts: string[] = [];
  const verdicts: Verdicts[] = [];
  const kept: string[] = [];
  const absent: string[] = [];
  for (const s of SECTIONS) {
    if (selected.includes(s.id)) {
      parts.push(sectionPart(s.id, started, command));
      verdicts.push(...rows.get(s.id)!.map((r) => ({ section: s.title, part: r.part, verdict: r.verdict })));
      continue;
    }
    const earlier = partIn(oldBlock, s.id);
    if (earlier) {
      parts.push(earlier);
      verdicts.push(...verdictsIn(earlier, s.title));
      kept.push(s.title);
    } else absent.push(s.title);
  }
  const generated = `${BEGIN}

Each section below comes from the latest \`npm run bench\` that ran it, and says when that was, under what load and
with which versions: a run that covers only some sections replaces those and keeps the others as they were.
(\`npm run bench\` = \`node scripts/bench/bundled.mjs\`, which bundles and runs scripts/bench/run.ts; all sections by default, or a subset: \`npm run bench -- redis etcd\`;
names: ${SECTIONS.map((s) => s.id).join(", ")}; zk = zookeeper; ${optInNames()} only when named.)

- Latest run: ${started.toISOString()}, \`${command}\`, ${runtimeS.toFixed(0)} s (${(runtimeS / 60).toFixed(1)} min): ${selected.map(titleOf).join(", ")}
${env.map((x) => `- ${x}`).join("\n")}
- Load average at its end: ${loadavg()}. A load above ${os.availableParallelism()} means other jobs shared the CPUs and every figure is slower than on an idle machine.${kept.length ? `\n- **Kept from earlier runs** (dates in their sections): ${kept.join(", ")}.` : ""}${absent.length ? `\n- **Not in this file** (no run has written them since sections were kept apart): ${absent.join(", ")}.` : ""}

All stores run on this one machine over loopback, each started fresh by the bench and stopped after its section.
Latency rows say which hop they measure: Redis and the SSE fan-out go through the real \`next start\` server and SSE;
etcd, ZooKeeper and Consul are measured to the **hub's EventBus in the bench process** (the step right before SSE), not
over HTTP. Every floor is the fastest of several raw reads a plain client of that store can do, picked in the same run;
its settings are in the row. \`npm run bench\` runs its code, lib/ included, as one esbuild bundle, as \`next build\` ships
the server's (scripts/bench/bundled.mjs says why), and each section in a process of its own (scripts/bench/run.ts says why);
each section's run line says how it ran: runs that do not name their build ran under tsx, one module per file, and runs that
do not say "in a process of its own" shared one process with the sections before them.

${tallyOf(verdicts)}

${parts.join("\n\n")}

${END}`;
  const doc =
    b >= 0 && e > b
      ? old.slice(0, b) + generated + old.slice(e + END.length)
      : `# Benchmarks\n\nFigures from \`npm run bench\`: the block between the markers is written by the bench; the rest is kept.\n\n${generated}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, doc);
}
