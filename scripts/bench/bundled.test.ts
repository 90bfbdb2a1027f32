// scripts/bench/bundled.mjs: `npm run bench` builds one bundle and starts from it, each file
// keeping its own paths and only the entry running as a program.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

describe("npm run bench (bundled)", () => {
  it("builds, starts, and leaves no file the bundle's paths or a main of its own", () => {
    // --help builds the bundle and runs it up to the usage line (every file's top level included).
    const out = execFileSync(process.execPath, [path.join(ROOT, "scripts/bench/bundled.mjs"), "--help"], { encoding: "utf8", timeout: 60_000 });
    expect(out).toMatch(/^usage: npm run bench/m);
    const bundle = fs.readFileSync(path.join(ROOT, ".bench/run.cjs"), "utf8");
    // Left as they were, every section file runnable alone would start its bench on load.
    expect(bundle).not.toMatch(/\b__dirname\b|\b__filename\b|require\.main === module/);
    // scripts/servers/consul.ts finds build-consul.sh beside itself, report.ts the repo from scripts/bench.
    expect(bundle).toContain(JSON.stringify(path.join(ROOT, "scripts/servers")));
    expect(bundle).toContain(JSON.stringify(path.join(ROOT, "scripts/bench")));
  });
});
