// The monitoring kit in deploy/ loads in the real tools, and is built on metrics LockDeck
// really exports:
//   - deploy/prometheus-rules.yml: `promtool check rules` (Prometheus's own rule loader: YAML,
//     PromQL, templates) and `promtool test rules deploy/prometheus-rules.test.yml` (the
//     rules' unit tests: what fires when, with which labels and text); a broken copy is refused;
//   - deploy/grafana/lockdeck-dashboard.json: loaded strictly by the Grafana Foundation SDK's
//     model (scripts/monitoring/dashboard-check: required fields, types, no unknown field, panel
//     options and Prometheus targets by their plugins' types); a broken copy is refused; every
//     panel query is parsed by promtool (as recording rules, the template variables filled in);
//   - every lockdeck_* metric the rules and the dashboard name is one /api/metrics exports.
// promtool and the checker are built once into ~/.cache/lockdeck (scripts/setup.mjs does it).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { exposition } from "../history/prometheus";
import { waitsAndAlertsExposition } from "./metrics";

const ROOT = path.resolve(__dirname, "../..");
const RULES = path.join(ROOT, "deploy/prometheus-rules.yml");
const DASHBOARD = path.join(ROOT, "deploy/grafana/lockdeck-dashboard.json");
const run = promisify(execFile);

async function built(script: string): Promise<string> {
  const { stdout } = await run("bash", [path.join(ROOT, script)], { timeout: 900_000, maxBuffer: 16 << 20 });
  return stdout.trim().split("\n").pop()!;
}

/** Exit code and output of a tool; never throws on a non-zero exit. */
async function tool(bin: string, args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd, timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : 1, out: `${x.stdout ?? ""}${x.stderr ?? ""}` };
  }
}

function dashboardExprs(): string[] {
  const d = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
    panels: Array<{ targets?: Array<{ expr: string }>; panels?: Array<{ targets?: Array<{ expr: string }> }> }>;
  };
  return d.panels.flatMap((p) => [...(p.targets ?? []), ...(p.panels ?? []).flatMap((x) => x.targets ?? [])]).map((t) => t.expr);
}

/** The metric names /api/metrics exports (histograms with their series suffixes). */
function exportedNames(): Set<string> {
  const conn = {
    id: "c",
    kind: "redis",
    up: true,
    stale: false,
    staleAgeMs: null,
    mode: "live",
    locks: 1,
    held: 1,
    contended: 0,
    staleLocks: 0,
    waiters: 0,
    problems: 0,
    readErrors: 0,
    lifeEvents: 0,
    snapshotSeconds: 0.1,
  };
  const lock = { connection: "c", key: "k", acquisitions: 1, forceReleases: 0, expiries: 0, holdHist: [], waitHist: [], holdSumMs: 0, waitSumMs: 0 };
  const text =
    exposition([conn], [lock as never], { paused: false, queued: 0, dropped: 0, written: 0 }) +
    waitsAndAlertsExposition(
      [{ connection: "c", waits: 0, deadlocks: 0, deadlockedLocks: 0, deadHolders: 0 }],
      [],
      [{ name: "w", kind: "json", target: "", pending: 0, sent: 0, failures: 0, dropped: 0, lastSuccessAt: null, lastError: null, failing: 0 }],
    );
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]);
    if (m[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(m[1] + s);
  }
  return names;
}

describe("deploy/ monitoring kit", () => {
  it("prometheus-rules.yml loads in promtool, its unit tests pass, and a broken copy is refused", { timeout: 900_000 }, async () => {
    const promtool = await built("scripts/servers/build-promtool.sh");
    const check = await tool(promtool, ["check", "rules", RULES]);
    expect(check.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.code).toBe(0);
    const test = await tool(promtool, ["test", "rules", path.join(ROOT, "deploy/prometheus-rules.test.yml")]);
    expect(test.code, test.out).toBe(0);
    expect(test.out).toContain("SUCCESS");

    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-rules-"));
    const broken = path.join(dir, "broken.yml");
    writeFileSync(broken, readFileSync(RULES, "utf8").replace("lockdeck_deadlocked_locks > 0", "lockdeck_deadlocked_locks >"));
    const bad = await tool(promtool, ["check", "rules", broken]);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/parse error|unexpected/i);

    // Every dashboard query parses too: as recording rules, $connection and $__rate_interval filled in.
    const exprs = dashboardExprs();
    expect(exprs.length).toBeGreaterThan(15);
    const asRules = path.join(dir, "dashboard-queries.yml");
    const filled = exprs.map((e) => e.replace(/\$__rate_interval/g, "5m").replace(/\$connection/g, ".*"));
    writeFileSync(
      asRules,
      `groups:\n  - name: dashboard\n    rules:\n${filled.map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(e)}\n`).join("")}`,
    );
    const queries = await tool(promtool, ["check", "rules", asRules]);
    expect(queries.code, queries.out).toBe(0);
  });

  it("the Grafana dashboard loads strictly in Grafana's own model, and a broken copy is refused", { timeout: 600_000 }, async () => {
    const checker = await built("scripts/monitoring/dashboard-check/build.sh");
    const ok = await tool(checker, [DASHBOARD]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/dashboard "LockDeck" loads: \d+ panels, 2 variables/);
    const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-dash-"));
    const d = JSON.parse(readFileSync(DASHBOARD, "utf8"));
    d.panels[1].targets[0].exprr = d.panels[1].targets[0].expr;
    d.panels[2].gridPos.w = "wide";
    writeFileSync(path.join(dir, "broken.json"), JSON.stringify(d));
    const bad = await tool(checker, [path.join(dir, "broken.json")]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain("unexpected field 'exprr'");
    expect(bad.out).toContain("gridPos");
  });

  it("every lockdeck_* metric the rules and the dashboard use is one /api/metrics exports", () => {
    const names = exportedNames();
    const used = new Set([...`${readFileSync(RULES, "utf8")}\n${dashboardExprs().join("\n")}`.matchAll(/\blockdeck_[a-z_]+\b/g)].map((m) => m[0]));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((n) => !names.has(n))).toEqual([]);
  });
});
