// The console's clock is wrong (reliability plan row 24): the console (the standalone server) runs under libfaketime,
// 30 s behind and then 30 s ahead of the stores and the browser. Every TTL it shows — in the
// API and on the page — is still the store's own (Redis PTTL, etcd LeaseTimeToLive) to within
// a second: nothing is counted down against the console's clock.
import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { Etcd3 } from "etcd3";
import { startConsole, type Console } from "../scripts/servers/console";
import { fakeClock } from "../scripts/servers/faketime";

const env = process.env;

for (const offset of ["-30s", "+30s"]) {
  test(`console clock ${offset} off: every TTL shown is the store's (±1 s)`, async ({ page }) => {
    test.setTimeout(90_000);
    const redis = new Redis(env.E2E_REDIS_URL!);
    const etcd = new Etcd3({ hosts: env.E2E_ETCD_ENDPOINT! });
    const run = `skew${offset.replace(/\W/g, "")}-${Date.now()}`;
    const redisKey = `skew:${run}`;
    await redis.set(redisKey, `tok-${run}-0123456789`, "PX", 90_000);
    const lease = etcd.lease(90, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    await lease.put(`skew/${run}/${BigInt(leaseId).toString(16)}`).value("");
    let lockdeck: Console | null = null;
    try {
      lockdeck = await startConsole({
        config: {
          connections: [
            { id: "r", kind: "redis", url: env.E2E_REDIS_URL, patterns: ["skew:*"], notifications: "use" },
            { id: "e", kind: "etcd", endpoints: [env.E2E_ETCD_ENDPOINT], prefixes: [`skew/${run}/`] },
          ],
        },
        env: fakeClock(offset),
      });
      const skew = offset.startsWith("-") ? -30_000 : 30_000;
      type Page = { observedAt: string; locks: Array<{ key: string; ttlMs: number | null; observedAt: string }> };
      const page1 = async (conn: string) => (await (await fetch(`${lockdeck!.url}/api/connections/${conn}/locks?limit=100`)).json()) as Page;

      // The fault is real: the console stamps its reads with its own (wrong) clock.
      await expect.poll(async () => (await page1("r")).locks.some((l) => l.key === redisKey), { timeout: 15_000 }).toBe(true);
      const stamped = Date.parse((await page1("r")).observedAt);
      expect(Math.abs(stamped - Date.now() - skew)).toBeLessThan(5_000);

      // Redis: the API's TTL is the PTTL read around it.
      const before = await redis.pttl(redisKey);
      const shown = (await page1("r")).locks.find((l) => l.key === redisKey)!.ttlMs!;
      const after = await redis.pttl(redisKey);
      expect(shown).toBeGreaterThanOrEqual(after - 1_000);
      expect(shown).toBeLessThanOrEqual(before + 1_000);

      // etcd: the lease's TTL as LeaseTimeToLive reports it (whole seconds).
      const etcdKey = `skew/${run}/`;
      await expect.poll(async () => (await page1("e")).locks.some((l) => l.key === etcdKey), { timeout: 15_000 }).toBe(true);
      const leaseTtl = async () => Number((await etcd.leaseClient.leaseTimeToLive({ ID: leaseId })).TTL) * 1_000;
      const ttlBefore = await leaseTtl();
      const etcdShown = (await page1("e")).locks.find((l) => l.key === etcdKey)!.ttlMs!;
      const ttlAfter = await leaseTtl();
      expect(etcdShown).toBeGreaterThanOrEqual(ttlAfter - 1_000);
      expect(etcdShown).toBeLessThanOrEqual(ttlBefore + 1_000);

      // The page, read by a browser on the right clock, shows the same store TTL.
      const pttlBefore = await redis.pttl(redisKey);
      await page.goto(`${lockdeck.url}/c/r/lock?key=${encodeURIComponent(redisKey)}`);
      const ttl = page.getByTestId("lock-ttl").first();
      await expect(ttl).toHaveAttribute("data-ttl-ms", /^\d+$/);
      const onPage = Number(await ttl.getAttribute("data-ttl-ms"));
      const pttlNow = await redis.pttl(redisKey);
      expect(onPage).toBeGreaterThanOrEqual(pttlNow - 1_000);
      expect(onPage).toBeLessThanOrEqual(pttlBefore + 1_000);
      // The words on the page carry the same number of seconds, never "expired" or negative.
      await expect(ttl).not.toContainText(/-|expired/);
    } finally {
      await lockdeck?.stop();
      await redis.del(redisKey);
      await lease.revoke().catch(() => {});
      etcd.close();
      redis.disconnect();
    }
  });
}

// The browser's clock is wrong (a jump host or a VM that drifted): the lock page's history and the
// contention page ask for "the last 15 min" of the server's clock, so the holding just taken is
// on the timeline. (Old code sent from/to by the browser's clock: 20 min slow, "No holdings
// recorded in this range" on a lock held right now.)
for (const skewMin of [-20, 30]) {
  test(`browser clock ${skewMin > 0 ? "+" : ""}${skewMin} min off: the lock's history and the contention page cover the server's last 15 min`, async ({
    page,
  }) => {
    const redis = new Redis(env.E2E_REDIS_URL!);
    try {
      const key = `e2e:lock:browser-clock:${skewMin}:${Date.now()}`;
      await redis.set(key, `tok-browser-clock-${Date.now()}`, "PX", 120_000);
      await page.clock.install({ time: Date.now() + skewMin * 60_000 });
      await page.goto(`/c/redis/lock?key=${encodeURIComponent(key)}`);
      await expect(page.getByTestId("holder-row")).toBeVisible();
      await expect(page.getByTestId("lock-timeline").getByTestId("timeline-segment").first()).toBeAttached({ timeout: 15_000 });
      const asked: string[] = [];
      page.on("request", (r) => {
        if (r.url().includes("/api/contention/top")) asked.push(r.url());
      });
      await page.goto("/contention");
      await expect.poll(() => asked.length, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(new URL(asked[0]).searchParams.get("from")).toBeNull();
    } finally {
      redis.disconnect();
    }
  });
}
