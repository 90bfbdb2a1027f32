// `npm run bench`: scripts/bench/run.ts bundled into one file, as the product's server code is
// shipped, then run with node (arguments passed on).
//
// Why not tsx: tsx compiles each TypeScript file on its own into CommonJS, and every reference
// to another module's export goes through a getter (esbuild's `() => from[key]`, one closure
// shape shared by every export, so the load inside it is megamorphic). `next build` ships lib/
// bundled, its functions calling each other directly, and never runs those getters. Under tsx a
// 10k-key Consul snapshot (~20 ms, on a ~14 ms floor) spent ~1.1 ms in them (a CPU profile,
// docs/benchmarks.md): the bench measured a cost the product does not have. Bundled here with esbuild (the compiler
// tsx uses, with the same keepNames), npm packages left to node_modules.
//
// A bundle is one module, so two things each file saw of itself are given back to it at build
// time: __dirname / __filename (the file's own, as paths are resolved next to it), and
// `require.main === module`, which is true in the bundle for every file that was runnable alone,
// so it is made true only in the entry.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ENTRY = path.join(ROOT, "scripts/bench/run.ts");
// Inside the repo, so that the bundle's require() of npm packages finds node_modules.
const OUT = path.join(ROOT, ".bench/run.cjs");

/** The file's view of itself, restored (see above). */
const ownPaths = {
  name: "own-paths",
  setup(b) {
    b.onLoad({ filter: /\.tsx?$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      let text = await fs.promises.readFile(args.path, "utf8");
      text = text.replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path))).replace(/\b__filename\b/g, JSON.stringify(args.path));
      if (args.path !== ENTRY) text = text.replace(/require\.main === module/g, "false");
      return { contents: text, loader: args.path.endsWith(".tsx") ? "tsx" : "ts" };
    });
  },
};

await build({
  entryPoints: [ENTRY],
  outfile: OUT,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  packages: "external",
  keepNames: true,
  tsconfig: path.join(ROOT, "tsconfig.json"),
  logLevel: "warning",
  plugins: [ownPaths],
});

// report.ts names the build in every section it writes.
const run = spawnSync(process.execPath, [OUT, ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, LOCKDECK_BENCH_BUILD: "bundle" } });
process.exit(run.status ?? 1);
