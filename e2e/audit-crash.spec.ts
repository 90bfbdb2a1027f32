// kill -9 of a real console (the standalone server) in the middle of a burst of releases, then a
// restart on the same data dir. Nothing may have been deleted without its intent on disk;
// every intent on disk ends with an outcome — the one written before the crash, or one the
// restarted console reconciles from the store — and that outcome matches the store. A torn
// last line (what a crash mid-write leaves on a filesystem that does not write whole lines)
// is reported at its line on the audit page, and never glued to.
import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { startConsole, type Console } from "../scripts/servers/console";

const redisUrl = process.env.E2E_REDIS_URL!;
const LOCKS = 40;

interface Line {
  requestId: string;
  phase: string;
  outcome?: string;
  key: string;
  fence: string;
  reconciled?: boolean;
}

function readTrail(file: string): { lines: Line[]; torn: number } {
  let torn = 0;
  const lines: Line[] = [];
  for (const text of readFileSync(file, "utf8").split("\n")) {
    if (!text) continue;
    try {
      lines.push(JSON.parse(text) as Line);
    } catch {
      torn++;
    }
  }
  return { lines, torn };
}

test("kill -9 during a burst of releases: every intent on disk ends reconciled with the store, nothing is deleted without one", async ({ page }) => {
  test.setTimeout(120_000);
  const redis = new Redis(redisUrl);
  const run = `crash-${Date.now()}`;
  const keys = Array.from({ length: LOCKS }, (_, i) => `${run}:lock:${i}`);
  const tokens = new Map(keys.map((k, i) => [k, `tok-${run}-${i}-0123456789abcdef`]));
  for (const k of keys) await redis.set(k, tokens.get(k)!, "PX", 600_000);
  let lockdeck: Console | null = null;
  try {
    lockdeck = await startConsole({
      config: {
        connections: [{ id: "r", kind: "redis", url: redisUrl, patterns: [`${run}:*`], notifications: "use" }],
        auth: { releaseRateLimit: { max: 10_000, perSeconds: 60 } },
      },
    });
    const base = lockdeck.url;
    const trailFile = path.join(lockdeck.dataDir, "audit.jsonl");
    await expect
      .poll(async () => ((await (await fetch(`${base}/api/connections/r/locks?limit=100`)).json()) as { total: number }).total, { timeout: 20_000 })
      .toBe(LOCKS);
    const page1 = (await (await fetch(`${base}/api/connections/r/locks?limit=100`)).json()) as { locks: Array<{ key: string; fence: string }> };
    const fences = new Map(page1.locks.map((l) => [l.key, l.fence]));

    // 8 operators release as fast as they can; the console is SIGKILLed after 12 answers.
    let answered = 0;
    let killed = false;
    const queue = [...keys];
    const operator = async () => {
      while (queue.length && !killed) {
        const key = queue.shift()!;
        const res = await fetch(`${base}/api/connections/r/lock/release`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" },
          body: JSON.stringify({ key, fence: fences.get(key), reason: "crash drill", mode: "delete" }),
        }).catch(() => null);
        if (res) answered++;
        if (answered >= 12 && !killed) {
          killed = true;
          await lockdeck!.kill9();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, operator));
    expect(killed).toBe(true);

    // On disk right after the crash: an intent for every lock the store no longer has.
    const atCrash = readTrail(trailFile);
    const intents = new Map(atCrash.lines.filter((l) => l.phase === "intent").map((l) => [l.requestId, l]));
    const intentKeys = new Set([...intents.values()].map((l) => l.key));
    const deleted: string[] = [];
    for (const k of keys) if (!(await redis.exists(k))) deleted.push(k);
    expect(deleted.length).toBeGreaterThan(0);
    for (const k of deleted) expect(intentKeys.has(k), `${k} was deleted with no intent on disk`).toBe(true);
    console.log(
      `at the crash: ${intents.size} intents, ${atCrash.lines.length - intents.size} outcomes, ${deleted.length} locks deleted, ${atCrash.torn} torn lines`,
    );

    // A crash mid-write on a filesystem that tears lines leaves a fragment like this one.
    appendFileSync(trailFile, '{"action":"release","requestId":"torn-by-the-crash","phase":"intent","act');
    const tornLine = readFileSync(trailFile, "utf8").split("\n").length;

    await lockdeck.restart();
    type Trail = { entries: Line[]; chainProblems: Array<{ line: number; kind: string }> };
    const trail = async () => (await (await fetch(`${base}/api/audit?limit=5000`)).json()) as Trail;
    // Every intent on disk gets an outcome: written before the crash, or reconciled now.
    await expect
      .poll(
        async () => {
          // Final: an outcome other than "unknown", or one the reconciler settled ("unknown" when the holding is gone).
          const outcomes = new Set(
            (await trail()).entries.filter((e) => e.phase === "outcome" && (e.outcome !== "unknown" || e.reconciled)).map((e) => e.requestId),
          );
          return [...intents.keys()].filter((id) => !outcomes.has(id));
        },
        { timeout: 30_000, message: "every intent has an outcome" },
      )
      .toEqual([]);
    const after = await trail();
    expect(after.chainProblems).toEqual([expect.objectContaining({ line: tornLine, kind: "torn" })]);
    let reconciled = 0;
    for (const [id, intent] of intents) {
      const final = after.entries.find((e) => e.requestId === id && e.phase === "outcome" && (e.outcome !== "unknown" || e.reconciled))!;
      reconciled += final.reconciled ? 1 : 0;
      const value = await redis.get(intent.key);
      // Nobody else takes these locks: "applied" (answered before the crash) and a reconciled
      // "unknown" (found gone after it: who removed it cannot be told) both mean the key is gone.
      if (final.outcome === "applied" || final.outcome === "unknown") expect(value, `${intent.key}: audited ${final.outcome}, still held`).toBeNull();
      else expect([final.outcome, value]).toEqual(["not_applied", tokens.get(intent.key)]);
    }
    console.log(`after the restart: ${reconciled} of ${intents.size} outcomes reconciled from the store`);

    // The restarted console keeps working: a release after the fragment starts a new line.
    const left = keys.find((k) => !deleted.includes(k))!;
    const res = await fetch(`${base}/api/connections/r/lock/release`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" },
      body: JSON.stringify({ key: left, fence: fences.get(left), reason: "after the crash", mode: "delete" }),
    });
    expect(res.status).toBe(200);
    expect(readFileSync(trailFile, "utf8").split("\n")[tornLine - 1]).toMatch(/"act$/);
    expect((await trail()).chainProblems).toHaveLength(1);

    // The audit page says where the trail breaks and why.
    await page.goto(`${base}/audit`);
    const problem = page.getByTestId("audit-chain-problem");
    await expect(problem).toHaveAttribute("data-line", String(tornLine));
    await expect(problem).toContainText(/not a complete record/);
  } finally {
    await lockdeck?.stop();
    await redis.del(...keys);
    redis.disconnect();
  }
});
