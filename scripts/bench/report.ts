// The bench's report: rows as the sections record them, the run's context (machine, load,
// versions), markdown tables, and docs/benchmarks.md. The generated part of that file sits
// between two markers; text outside them (the profile notes, what each change bought) is kept.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

export type SectionId = "redis" | "etcd" | "zookeeper" | "consul" | "history" | "waits" | "fanout" | "browser";
export const SECTIONS: Array<{ id: SectionId; title: string }> = [
  { id: "redis", title: "Redis" },
  { id: "etcd", title: "etcd" },
  { id: "zookeeper", title: "ZooKeeper" },
  { id: "consul", title: "Consul" },
  { id: "history", title: "History recorder" },
  { id: "waits", title: "Wait-for graph" },
  { id: "fanout", title: "SSE fan-out" },
  { id: "browser", title: "Browser" },
];
export const ALIASES: Record<string, SectionId> = { redis: "redis", etcd: "etcd", zookeeper: "zookeeper", zk: "zookeeper", consul: "consul", history: "history", waits: "waits", fanout: "fanout", browser: "browser" };

export type Verdict = "met" | "MISSED" | "—" | "FAILED" | "not measured";
export interface Row {
  part: string;
  result: string;
  target: string;
  verdict: Verdict;
}

const rows = new Map<SectionId, Row[]>(SECTIONS.map((s) => [s.id, []]));
let current: SectionId = "redis";
const notes: string[] = [];
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

export function note(text: string): void {
  notes.push(text);
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

function software(): string[] {
  const next = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/next/package.json"), "utf8")).version;
  const out = [`Node ${process.version}; Next ${next}`];
  for (const s of SECTIONS) {
    const v = versions.get(s.id);
    if (v) out.push(`${s.title}: ${v}`);
  }
  return out;
}

export function table(id: SectionId): string {
  const lines = ["| Measurement | Result | Target | Met? |", "|---|---|---|---|"];
  const list = rows.get(id)!;
  // Redis rows by part number (unnumbered last), the others in the order they ran.
  const order = (r: Row) => Number.parseFloat(r.part) || 9;
  const sorted = id === "redis" ? [...list].sort((a, b) => order(a) - order(b)) : list;
  for (const r of sorted) lines.push(`| ${r.part} | ${r.result.replace(/\|/g, "\\|")} | ${r.target} | ${r.verdict} |`);
  return lines.join("\n");
}

function tables(selected: SectionId[]): string {
  return SECTIONS.filter((s) => selected.includes(s.id))
    .map((s) => `## ${s.title}\n\n${rows.get(s.id)!.length ? table(s.id) : "_No rows: this section did not run._"}`)
    .join("\n\n");
}

export function tally(selected: SectionId[]): string {
  const all = selected.flatMap((id) => rows.get(id)!);
  const n = (v: Verdict) => all.filter((r) => r.verdict === v).length;
  const missed = selected.flatMap((id) =>
    rows
      .get(id)!
      .filter((r) => r.verdict === "MISSED" || r.verdict === "FAILED")
      .map((r) => `${SECTIONS.find((s) => s.id === id)!.title}: ${r.part.replace(/\*\*/g, "")} (${r.verdict})`),
  );
  return `Targets: **${n("met")} met, ${n("MISSED")} MISSED, ${n("FAILED")} FAILED**${n("not measured") ? `, ${n("not measured")} not measured` : ""}.${missed.length ? `\nMissed or failed:\n${missed.map((m) => `- ${m}`).join("\n")}` : ""}`;
}

const BEGIN = "<!-- bench:begin (generated by npm run bench; edit outside these markers) -->";
const END = "<!-- bench:end -->";

/** Replaces the generated block of docs/benchmarks.md, keeping what was written around it. */
export function writeDoc(started: Date, runtimeS: number, env: string[], selected: SectionId[], command: string): void {
  const skipped = SECTIONS.filter((s) => !selected.includes(s.id)).map((s) => s.title);
  const generated = `${BEGIN}

This run:

\`\`\`sh
${command}
\`\`\`

(\`npm run bench\` = \`tsx scripts/bench/run.ts\`; all sections by default, or a subset: \`npm run bench -- redis etcd\`;
names: ${SECTIONS.map((s) => s.id).join(", ")}; zk = zookeeper.)

- Date: ${started.toISOString()}; the run took ${runtimeS.toFixed(0)} s (${(runtimeS / 60).toFixed(1)} min)
${env.map((e) => `- ${e}`).join("\n")}
- Load average at end: ${loadavg()}. A load above ${os.availableParallelism()} means other jobs shared the CPUs and every figure is slower than on an idle machine.
- Server versions and software:
${software()
  .map((s) => `  - ${s}`)
  .join("\n")}
- Sections: ${ran.map((r) => `${SECTIONS.find((s) => s.id === r.id)!.title} ${r.seconds.toFixed(0)} s (load ${r.loadStart} → ${r.loadEnd})${r.ok ? "" : " FAILED"}`).join("; ")}${skipped.length ? `\n- **Not run this time:** ${skipped.join(", ")} (subset requested on the command line); their figures are not in this file.` : ""}

All stores run on this one machine over loopback, each started fresh by the bench and stopped after its section.
Latency rows say which hop they measure: Redis goes through the real \`next start\` server and SSE; etcd, ZooKeeper
and Consul are measured to the **hub's EventBus in the bench process** (the step right before SSE), not over HTTP.
Every floor is the fastest of several raw reads a plain client of that store can do, picked in the same run; its
settings are in the row.

${tally(selected)}

${tables(selected)}

## How it is measured

${SECTIONS.filter((s) => selected.includes(s.id) && how.has(s.id))
  .map((s) => how.get(s.id))
  .join("\n\n")}
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}
${END}`;
  const file = path.join(ROOT, "docs", "benchmarks.md");
  const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const b = old.indexOf(BEGIN);
  const e = old.indexOf(END);
  const doc =
    b >= 0 && e > b
      ? old.slice(0, b) + generated + old.slice(e + END.length)
      : `# Benchmarks\n\nFigures from \`npm run bench\`: the block between the markers is written by the bench; the rest is kept.\n\n${generated}\n`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, doc);
}
