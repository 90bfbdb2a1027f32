// A section of docs/benchmarks.md that a bench script other than `npm run bench` owns
// (scripts/bench/replicas.ts): kept between its own two markers and replaced by its owner;
// `npm run bench` rewrites only its own generated block (scripts/bench/report.ts).

import fs from "node:fs";

const begin = (id: string) => `<!-- bench:${id}:begin -->`;
const end = (id: string) => `<!-- bench:${id}:end -->`;

/** The block as it stands in `file` (markers included), or "". */
function blockOf(file: string, id: string): string {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const a = text.indexOf(begin(id));
  const b = text.indexOf(end(id));
  return a >= 0 && b > a ? text.slice(a, b + end(id).length) : "";
}

/** Writes `body` as the block in `file`, in place of the old one or at the end. */
export function writeBlock(file: string, id: string, body: string): void {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const block = `${begin(id)}\n${body.trim()}\n${end(id)}`;
  const old = blockOf(file, id);
  fs.writeFileSync(file, old ? text.replace(old, block) : `${text.trimEnd()}\n\n${block}\n`);
}
