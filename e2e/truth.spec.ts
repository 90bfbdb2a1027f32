// Truth during an incident (issue 16), as on-call sees it in the browser, on real stores:
// an outage makes one age show everywhere, dims the rows and asks for an acknowledgement
// before a release, and leaves a marked gap; ages tick while the feed is live; a release says
// who holds the lock now and a released lock's page tells its last history; waiters Redis only
// counts, a Consul semaphore's single slot, the overview's recent events and worst offenders,
// and the contention page's waits in progress.
import { expect, test, type Page } from "@playwright/test";
import Redis from "ioredis";
import { CreateMode, ZkSession } from "../lib/stores/zookeeper/client";
import { createLockDir } from "./zk-lock-dir";
import { REDISSON, prefixName } from "../lib/formats/redis/names";
import type { HoldProcess } from "../scripts/capture/hold";
import { holdConsulCli } from "../scripts/capture/consul/hold";

const stamp = Date.now();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
test.afterEach(async () => {
  await Promise.all(cleanups.splice(0).map(async (c) => c()));
});

const lockPage = (conn: string, key: string) => `/c/${conn}/lock?key=${encodeURIComponent(key)}`;

async function zk(): Promise<ZkSession> {
  const s = new ZkSession({ connectString: process.env.E2E_ZK_ADDRESS!, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
  await s.connected();
  cleanups.push(() => s.close());
  return s;
}

/** A Curator InterProcessMutex directory with one contender node per session, in this order. */
async function curatorQueue(dir: string, addresses: string[]): Promise<ZkSession[]> {
  const sessions: ZkSession[] = [];
  for (const [i, address] of addresses.entries()) {
    const s = await zk();
    if (i === 0) await createLockDir(s, dir);
    await s.create(`${dir}/_c_${crypto.randomUUID()}-lock-`, Buffer.from(address), CreateMode.EPHEMERAL_SEQUENTIAL);
    sessions.push(s);
  }
  return sessions;
}

async function release(page: Page, reason: string) {
  await page.getByTestId("release-button").click();
  await expect(page.getByTestId("release-dialog")).toBeVisible();
  await page.getByTestId("release-reason").fill(reason);
  await page.getByTestId("release-confirm").click();
}

test("an outage: one age everywhere, dimmed rows, an acknowledged release, and a marked gap afterwards", async ({ page }) => {
  test.setTimeout(90_000);
  const redis = new Redis(process.env.E2E_OUTAGE_REDIS_URL!);
  const control = new Redis(process.env.E2E_OUTAGE_REDIS_URL!);
  cleanups.push(
    () => redis.disconnect(),
    () => control.disconnect(),
  );
  const key = `e2e:lock:outage:${stamp}`;
  await redis.set(key, `tok-${stamp}-outage`, "PX", 600_000);

  await page.goto(lockPage("redis-outage", key));
  await expect(page.getByTestId("holder-row")).toBeVisible();
  await expect(page.getByTestId("mode-indicator")).toHaveText(/^live, confirmed (just now|\d+ s ago)$/);

  // The store stops answering (every client paused) for 20 s.
  await control.call("CLIENT", "PAUSE", "20000", "ALL");
  const pausedAt = Date.now();
  const banner = page.getByTestId("connection-banner");
  await expect(banner).toContainText(/stale view: last confirmed \d\d:\d\d:\d\d, [\d.]+s ago/, { timeout: 15_000 });
  await expect(page.getByTestId("mode-indicator")).toHaveAttribute("data-mode", "stale");
  // One age: the banner and the lock page's badge read the same number from the same answer.
  // Both attributes are read in one task of the page: two reads could straddle a refetch.
  const [bannerAge, badgeAge] = await page.evaluate(() => [
    document.querySelector('[data-testid="connection-banner"]')?.getAttribute("data-stale-age-ms") ?? null,
    document.querySelector('[data-testid="mode-indicator"]')?.getAttribute("data-age-ms") ?? null,
  ]);
  expect(bannerAge).not.toBeNull();
  expect(bannerAge).toBe(badgeAge);
  expect(Number(bannerAge)).toBeLessThan(Date.now() - pausedAt + 5_000);

  // A release on the stale view needs the age acknowledged; the store is still down, so the
  // server refuses without sending anything — it did not ask for the acknowledgement again.
  await page.getByTestId("release-button").click();
  await expect(page.getByTestId("stale-ack-note")).toContainText(/This view is \d+ s old/);
  await page.getByTestId("release-reason").fill("e2e: outage drill");
  await expect(page.getByTestId("release-confirm")).toBeDisabled();
  await page.getByTestId("stale-ack").check();
  await expect(page.getByTestId("release-confirm")).toBeEnabled();
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-code", "unreachable");
  await page.getByTestId("release-cancel").click();

  // The table dims its rows while stale, and their hold time stops at the last confirmed read
  // ("≥"): one that kept counting would say the holding still exists. The header's live dot is
  // not green while a store is not read.
  await page.goto("/c/redis-outage");
  await expect(page.locator(`[data-testid="lock-row"][data-key="${key}"]`)).toHaveAttribute("data-stale", "true");
  await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-stores-down", "1", { timeout: 15_000 });
  const held = page.locator(`[data-testid="lock-row"][data-key="${key}"] [data-testid="held"]`);
  await expect(held).toHaveAttribute("data-stale", "true");
  await expect(held).toHaveText(/^≥\d/);
  const frozen = await held.getAttribute("data-held-ms");
  const tableBanner = page.getByTestId("connection-banner");
  const ageThen = Number(await tableBanner.getAttribute("data-stale-age-ms"));
  await expect.poll(async () => Number(await tableBanner.getAttribute("data-stale-age-ms")), { timeout: 15_000 }).toBeGreaterThan(ageThen + 2_000);
  expect(await held.getAttribute("data-held-ms")).toBe(frozen);

  // Back: live again, the lock kept, and the outage is a marked gap on the lock's history and
  // an event on the overview.
  await expect(page.getByTestId("mode-indicator")).toHaveAttribute("data-mode", "live", { timeout: 40_000 });
  await expect(page.locator(`[data-testid="lock-row"][data-key="${key}"]`)).not.toHaveAttribute("data-stale", "true");
  await page.goto(lockPage("redis-outage", key));
  await expect(page.getByTestId("lock-timeline").getByTestId("timeline-gap").first()).toBeAttached({ timeout: 15_000 });
  await page.goto("/");
  await expect(page.getByTestId("recent-event").filter({ hasText: "Redis outage drills" }).filter({ hasText: "outage" }).first()).toBeVisible({
    timeout: 15_000,
  });
});

test("held ticks on a live feed against the server's clock, labelled as a first sighting where the store records no start", async ({ page }) => {
  const redis = new Redis(process.env.E2E_REDIS_URL!);
  cleanups.push(() => redis.disconnect());
  const key = `e2e:lock:tick:${stamp}`;
  await redis.set(key, `tok-${stamp}-tick`, "PX", 120_000);
  await page.goto(lockPage("redis", key));
  const since = page.getByTestId("holder-since");
  await expect(since).toContainText(/^first seen \d\d:\d\d:\d\d \(held ≥/);
  const first = Number(await since.getAttribute("data-held-ms"));
  // Nothing about the lock changes; the value must still move with the server's clock.
  await expect.poll(async () => Number(await since.getAttribute("data-held-ms")), { timeout: 10_000 }).toBeGreaterThan(first + 1_500);
});

test("a release says who holds the lock now; a released lock's page tells who released it and why", async ({ page }) => {
  const dir = `/locks/e2e-after-${stamp}`;
  await curatorQueue(dir, ["10.0.0.1", "10.0.0.2"]);
  await page.goto(lockPage("zookeeper", dir));
  await expect(page.getByTestId("holder-who")).toHaveText(/^10\.0\.0\.1 · session 0x/);
  await release(page, "e2e: hand over");
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  await expect(page.getByTestId("release-after")).toHaveAttribute("data-state", "held");
  await expect(page.getByTestId("release-after")).toContainText(/^Now held by 10\.0\.0\.2 since \d\d:\d\d:\d\d/);

  const redis = new Redis(process.env.E2E_REDIS_URL!);
  cleanups.push(() => redis.disconnect());
  const key = `e2e:lock:after:${stamp}`;
  await redis.set(key, `tok-${stamp}-after`, "PX", 120_000);
  await page.goto(lockPage("redis", key));
  await release(page, "e2e: INC-16 stuck writer");
  await expect(page.getByTestId("release-after")).toHaveAttribute("data-state", /free|gone/);
  await expect(page.getByTestId("release-after")).toContainText("Now free: nobody holds it");
  // History records the force-release from the audit intent within a flush or two.
  await expect(async () => {
    await page.goto(lockPage("redis", key));
    await expect(page.getByTestId("lock-gone-last")).toContainText(
      /^Force-released by \S+ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, reason: e2e: INC-16 stuck writer/,
      {
        timeout: 1_000,
      },
    );
  }).toPass({ timeout: 20_000 });

  // The overview lists it among recent events, with who and why.
  await page.goto("/");
  await expect(page.getByTestId("recent-event").filter({ hasText: key }).filter({ hasText: "e2e: INC-16 stuck writer" })).toHaveAttribute(
    "data-kind",
    "force-released",
    { timeout: 15_000 },
  );
});

test("Redisson waiters Redis only counts show as 'N waiting (not identified)', with where the count comes from", async ({ page }) => {
  const redis = new Redis(process.env.E2E_REDIS_URL!);
  const sub = new Redis(process.env.E2E_REDIS_URL!);
  cleanups.push(
    () => redis.disconnect(),
    () => sub.disconnect(),
  );
  const name = `e2e-anon-lock-${stamp}`;
  await redis.hset(name, `${crypto.randomUUID()}:1`, "1");
  await redis.pexpire(name, 120_000);
  // What a Redisson client blocked in lock() does: subscribe to the lock's channel and wait.
  const channel = prefixName(REDISSON.lockChannel, name);
  await sub.subscribe(channel);
  await page.goto(lockPage("redis", name));
  const anon = page.getByTestId("anonymous-waiters");
  await expect(anon).toHaveAttribute("data-count", "1", { timeout: 15_000 });
  await expect(anon).toContainText("1 waiting (not identified)");
  await expect(anon).toContainText(channel);
  await page.goto(`/c/redis?q=${encodeURIComponent(name)}`);
  const row = page.locator(`[data-testid="lock-row"][data-key="${name}"]`);
  await expect(row).toHaveAttribute("data-status", "contended");
  await expect(row.getByTestId("waiters")).toHaveAttribute("data-anonymous", "1");
});

test("a Consul semaphore: release ONE holder's slot, chosen in the dialog; the other keeps its slot", async ({ page }) => {
  test.setTimeout(90_000);
  const prefix = `e2e/sem-${stamp}`;
  const holders: HoldProcess[] = [];
  for (let i = 0; i < 2; i++) {
    const p = holdConsulCli(process.env.E2E_CONSUL_BIN!, process.env.E2E_CONSUL_ADDR!, prefix, { n: 2, name: `e2e-slot-${i}` });
    cleanups.push(() => p.kill());
    holders.push(p);
  }
  await Promise.all(holders.map((p) => p.waitForLine("READY", 30_000)));
  const key = `${prefix}/.lock`;
  await page.goto(lockPage("consul", key));
  await expect(page.getByTestId("holder-row")).toHaveCount(2);
  await page.getByTestId("release-button").click();
  const targets = page.getByTestId("release-targets");
  await expect(page.getByTestId("release-title")).toContainText("Release ALL 2 holders");
  await targets.getByRole("radio", { name: /e2e-slot-0/ }).check();
  await expect(page.getByTestId("release-title")).toContainText(/Release ONE slot of .*e2e-slot-0/);
  await page.getByTestId("release-reason").fill("e2e: free one slot");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  // `consul lock` notices its slot is gone and exits; the other holder stays.
  const ended = await Promise.race([holders[0].exited.then(() => "exited"), new Promise((r) => setTimeout(() => r("running"), 20_000))]);
  expect(ended).toBe("exited");
  expect(holders[1].running()).toBe(true);
});

test("waits in progress: counted on the lock's history, the contention page and the overview's worst offenders", async ({ page }) => {
  // A pile-up: one holder and 11 waiters, a longer queue than the demo workload ever makes.
  const dir = `/locks/e2e-pileup-${stamp}`;
  await curatorQueue(
    dir,
    Array.from({ length: 12 }, (_, i) => `10.0.1.${i + 1}`),
  );
  await page.goto(lockPage("zookeeper", dir));
  const timeline = page.getByTestId("lock-timeline");
  await expect(timeline.getByTestId("waiting-now")).toContainText(/^waiting now11$/, { timeout: 15_000 });
  await expect(timeline.getByTestId("longest-current-wait")).not.toContainText("–");
  await page.goto("/");
  const most = page
    .getByTestId("worst-offenders")
    .getByTestId("offender")
    .filter({ hasText: `e2e-pileup-${stamp}` })
    .filter({ hasText: "11 w" });
  await expect(most).toBeVisible({ timeout: 15_000 });
  // The contention page ranks by time waited (the demo's queues outrank a pile-up seconds old),
  // and shows who waits now beside it.
  await page.goto("/contention?range=5m");
  await expect(page.getByTestId("contention-row").first().getByTestId("waiting-now")).toHaveText(/^\d+/, { timeout: 15_000 });
});
