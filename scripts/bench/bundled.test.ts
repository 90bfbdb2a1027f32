// scripts/bench/bundled.mjs: `npm run bench` builds one bundle and starts from it, each file
// keeping its own paths and only the entry running as a program.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
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

  it("runs each section in a process of its own and writes what that process recorded", () => {
    // The waits section needs no server and takes about a second. Its doc goes to a temp file.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lockdeck-bench-test-"));
    const doc = path.join(dir, "benchmarks.md");
    try {
      const out = execFileSync(process.execPath, [path.join(ROOT, "scripts/bench/bundled.mjs"), "waits"], {
        encoding: "utf8",
        timeout: 120_000,
        env: { ...process.env, LOCKDECK_BENCH_DOC: doc },
      });
      expect(out).toMatch(/Targets: \*\*\d+ met/);
      const text = fs.readFileSync(doc, "utf8");
      const part = text.slice(text.indexOf("<!-- bench:section:waits:begin -->"), text.indexOf("<!-- bench:section:waits:end -->"));
      // The rows, the method and the version came from the child's report.ts, through its file.
      expect(part).toMatch(/in a process of its own\); Node/);
      expect(part).toMatch(/^\| .+ \| (met|MISSED|—) \|$/m);
      expect(part).toContain("### How it is measured");
      expect(part).toContain("in-process (lib/waits WaitTracker");
      // The child refuses a section it does not know, without writing anything.
      expect(() =>
        execFileSync(process.execPath, [path.join(ROOT, ".bench/run.cjs"), "--section-process", "nope", path.join(dir, "x.json")], { stdio: "pipe" }),
      ).toThrow(/usage: --section-process/);
      expect(fs.existsSync(path.join(dir, "x.json"))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
