// The truth fields of issue 16 over HTTP, on `next start` with real stores: freshness on every
// view, the stale-view acknowledgement's shape, the overview, a force-released lock's page, and
// the answer after a release.
import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { randomBytes } from "node:crypto";

const redisUrl = process.env.E2E_REDIS_URL!;
const csrf = { "content-type": "application/json", "x-lockdeck-csrf": "1" };

test("every view carries the one confirmation time; the overview answers; a released lock's page says who released it and why", async ({ request }) => {
  const conns = (await (await request.get("/api/connections")).json()) as Array<Record<string, unknown>>;
  const redis = conns.find((c) => c.id === "redis")!;
  expect(redis).toMatchObject({ stale: false, confirmedBy: expect.stringMatching(/^(read|live-feed)$/) });
  expect(Date.parse(String(redis.now)) - Date.parse(String(redis.confirmedAt))).toBeLessThan(15_000);
  const page = await (await request.get("/api/connections/redis/locks?limit=1")).json();
  expect(page).toHaveProperty("confirmedAt");
  expect(page).toHaveProperty("now");

  const client = new Redis(redisUrl);
  try {
    const key = `lock:e2e-truth:${randomBytes(4).toString("hex")}`;
    await client.set(key, `tok-${randomBytes(8).toString("hex")}`, "PX", 60_000);
    let lock: { fence: string } | null = null;
    await expect
      .poll(async () => {
        const res = await request.get(`/api/connections/redis/lock?key=${encodeURIComponent(key)}`);
        if (res.ok()) lock = (await res.json()).lock;
        return res.status();
      })
      .toBe(200);
    const detail = await (await request.get(`/api/connections/redis/lock?key=${encodeURIComponent(key)}`)).json();
    expect(detail.lock.holders[0].sinceSource).toBe("first-seen");
    expect(detail).toMatchObject({ stale: false, confirmedAt: expect.any(String), now: expect.any(String) });

    const res = await request.post("/api/connections/redis/lock/release", {
      headers: csrf,
      data: { key, fence: lock!.fence, reason: "e2e truth check", mode: "delete" },
    });
    expect(res.status()).toBe(200);
    expect((await res.json()).after).toMatchObject({ state: "gone", holders: [] });

    // The lock page of a released lock: its last history and who released it.
    await expect
      .poll(async () => (await (await request.get(`/api/connections/redis/lock?key=${encodeURIComponent(key)}`)).json()).gone?.last?.kind, { timeout: 10_000 })
      .toBe("force-released");
    const gone = await request.get(`/api/connections/redis/lock?key=${encodeURIComponent(key)}`);
    expect(gone.status()).toBe(404);
    const body = await gone.json();
    expect(body.gone.release).toMatchObject({ reason: "e2e truth check", outcome: "applied" });
    expect(body.error.message).toMatch(/^force-released by \S+ at .*, reason: e2e truth check$/);

    const ov = await (await request.get("/api/overview")).json();
    expect(ov).toMatchObject({
      now: expect.any(Number),
      trendStepMs: 15_000,
      worst: { oldestWaiter: expect.any(Array), longestHold: expect.any(Array), mostWaiters: expect.any(Array) },
    });
    expect(
      ov.recent.some((e: { kind: string; key?: string; reason?: string }) => e.kind === "force-released" && e.key === key && e.reason === "e2e truth check"),
    ).toBe(true);
  } finally {
    client.disconnect();
  }
});
