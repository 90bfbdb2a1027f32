#!/usr/bin/env node
// Completes `next build`'s standalone output (.next/standalone: server code, a trimmed
// node_modules, and — traced in by next.config.js — scripts/start.mjs with its helpers) with
// what Next leaves for a CDN: .next/static and public/. The result is self-contained: run it
// with `node .next/standalone/scripts/start.mjs` (the deploy kit's image does exactly that, and
// so does the e2e suite). Idempotent; run after every build.

import { cpSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, ".next", "standalone");
if (!existsSync(path.join(out, "scripts", "start.mjs"))) {
  console.error('standalone: no .next/standalone with scripts/start.mjs: run `npx next build` first (next.config.js sets output: "standalone")');
  process.exit(1);
}
for (const [from, to] of [
  [path.join(root, ".next", "static"), path.join(out, ".next", "static")],
  [path.join(root, "public"), path.join(out, "public")],
]) {
  if (!existsSync(from)) continue;
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
console.log(
  `standalone: ${path.relative(process.cwd(), out) || "."} is complete; start it with \`node ${path.relative(process.cwd(), path.join(out, "scripts", "start.mjs"))}\``,
);
