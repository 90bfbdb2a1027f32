// Faults between a real console (the standalone server) and a real Redis, through the test rig's TCP
// proxy: what an operator sees when the release's reply is lost, and what twenty operators
// confirming the same release at once get.
import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { randomBytes, randomUUID } from "node:crypto";
import { startConsole, type Console } from "../scripts/servers/console";
import { startFaultProxy, type FaultProxy } from "../scripts/servers/fault-proxy";

const redisUrl = process.env.E2E_REDIS_URL!;
let redis: Redis;
let proxy: FaultProxy;
let lockdeck: Console;

test.beforeAll(async () => {
  redis = new Redis(redisUrl);
  proxy = await startFaultProxy(Number(new URL(redisUrl).port));
  lockdeck = await startConsole({
    config: {
      connections: [{ id: "r", kind: "redis", url: `redis://${proxy.address}`, patterns: ["faults:*"], notifications: "use", commandTimeoutMs: 1_500 }],
      auth: { releaseRateLimit: { max: 1_000, perSeconds: 60 } },
    },
  });
});
test.afterAll(async () => {
  await lockdeck?.stop();
  await proxy?.close();
  redis.disconnect();
});

const token = () => randomBytes(16).toString("hex");

test("a release whose reply is lost says 'outcome unknown' in plain words, then what the store shows", async ({ page }) => {
  const key = `faults:lost-reply:${Date.now()}`;
  const value = token();
  await redis.set(key, value, "PX", 120_000);
  await page.goto(`${lockdeck.url}/c/r/lock?key=${encodeURIComponent(key)}`);
  await expect(page.getByTestId("holder-id").first()).toContainText(value.slice(0, 8));
  await page.getByTestId("release-button").click();
  await page.getByTestId("release-reason").fill("e2e: reply lost on the way back");
  // The release script ("numkeys 1, then the key") reaches Redis; its reply does not come back.
  const lost = proxy.dropReplyAfter(`\r\n$1\r\n1\r\n$${key.length}\r\n${key}\r\n`, { resetAfterMs: -1 });
  await page.getByTestId("release-confirm").click();
  const result = page.getByTestId("release-result");
  await expect(result).toHaveAttribute("data-outcome", "unknown", { timeout: 15_000 });
  await expect(result).toContainText("Outcome unknown — the store did not answer after the release was sent.");
  await expect(result).toContainText("LockDeck does not send it again");
  await lost;
  // The console re-reads the lock and says what it found.
  const checked = page.getByTestId("release-reconciled");
  // Gone, but the store cannot tell this release from the holder's own or an expiry: not "applied".
  await expect(checked).toHaveAttribute("data-outcome", "unknown", { timeout: 20_000 });
  await expect(checked).toContainText("Outcome stays unknown: the holding you saw is gone, but who removed it cannot be told");
  expect(await redis.exists(key)).toBe(0);

  await page.goto(`${lockdeck.url}/audit?key=${encodeURIComponent(key)}`);
  await expect(page.getByTestId("audit-row")).toHaveCount(1);
  await expect(page.getByTestId("audit-row").filter({ hasText: /unknown \(reconciled\)/ })).toHaveCount(1);
});

test("20 operators confirm the same release at once: exactly one applies, the other 19 get 409", async () => {
  const key = `faults:concurrent:${Date.now()}`;
  await redis.set(key, token(), "PX", 120_000);
  await expect.poll(async () => (await fetch(`${lockdeck.url}/api/connections/r/lock?key=${encodeURIComponent(key)}`)).status, { timeout: 10_000 }).toBe(200);
  // The view confirmed again after the previous test's lost reply: a release on a stale view is
  // rightly refused (428) until its age is acknowledged, and that is not what this test asks.
  await expect
    .poll(
      async () => {
        const list = (await (await fetch(`${lockdeck.url}/api/connections`)).json()) as Array<{ id: string; status: string; stale: boolean }>;
        const r = list.find((c) => c.id === "r");
        return r?.status === "ok" && !r.stale;
      },
      { timeout: 20_000, message: "connection r reachable and confirmed" },
    )
    .toBe(true);
  const { lock } = (await (await fetch(`${lockdeck.url}/api/connections/r/lock?key=${encodeURIComponent(key)}`)).json()) as { lock: { fence: string } };
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      fetch(`${lockdeck.url}/api/connections/r/lock/release`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-lockdeck-csrf": "1", "x-forwarded-for": `10.0.0.${i}` },
        body: JSON.stringify({ key, fence: lock.fence, reason: `operator ${i}`, mode: "delete", requestId: randomUUID() }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string; message: string } } })),
    ),
  );
  const statuses = answers.map((a) => a.status).sort();
  expect(statuses, JSON.stringify(answers.filter((a) => a.status !== 200 && a.status !== 409).map((a) => a.body.error))).toEqual([200, ...Array(19).fill(409)]);
  for (const a of answers.filter((x) => x.status === 409)) {
    expect(a.body.error?.code).toBe("changed");
    expect(a.body.error?.message).toMatch(/already (running|released)|changed since you looked/);
  }
  expect(await redis.exists(key)).toBe(0);
  // One intent reached the store; every attempt is in the audit trail.
  const trail = (await (await fetch(`${lockdeck.url}/api/audit?key=${encodeURIComponent(key)}`)).json()) as {
    entries: Array<{ phase: string; outcome?: string }>;
  };
  expect(trail.entries.filter((e) => e.phase === "intent")).toHaveLength(1);
  expect(trail.entries.filter((e) => e.outcome === "applied")).toHaveLength(1);
  expect(trail.entries.filter((e) => e.outcome === "precondition_failed")).toHaveLength(19);
});
