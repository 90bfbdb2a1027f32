// One confirmation, one release, in Chromium against a real console and a real Redis (browser
// audit F2, F6, F11): a double-click (or a fast double Enter) on the dialog's confirm sends one
// POST and the dialog says "Released"; a lock the app takes again with the same token after a
// force-release can be force-released again from a fresh page; a lock whose TTL ran out while
// the dialog was open is not reported as released by someone.
import { expect, test, type Page } from "@playwright/test";
import Redis from "ioredis";
import { randomBytes } from "node:crypto";
import { startConsole, type Console } from "../scripts/servers/console";

const redisUrl = process.env.E2E_REDIS_URL!;
let redis: Redis;
let lockdeck: Console;

test.beforeAll(async () => {
  redis = new Redis(redisUrl);
  lockdeck = await startConsole({
    config: {
      connections: [{ id: "r", kind: "redis", url: redisUrl, patterns: ["once:*"], notifications: "use" }],
      auth: { releaseRateLimit: { max: 1_000, perSeconds: 60 } },
    },
  });
});
test.afterAll(async () => {
  await lockdeck?.stop();
  redis.disconnect();
});

const token = () => randomBytes(8).toString("hex");

/** Every release POST the page sends, counted as it leaves the browser. */
function countReleasePosts(page: Page): string[] {
  const posts: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().includes("/lock/release")) posts.push(r.postData() ?? "");
  });
  return posts;
}

async function openDialog(page: Page, key: string, holder: string, reason: string) {
  await page.goto(`${lockdeck.url}/c/r/lock?key=${encodeURIComponent(key)}`);
  await expect(page.getByTestId("holder-id").first()).toContainText(holder.slice(0, 8));
  await page.getByTestId("release-button").click();
  await page.getByTestId("release-reason").fill(reason);
  await expect(page.getByTestId("release-confirm")).toBeEnabled();
}

for (const how of ["double-click", "double Enter"] as const) {
  test(`a ${how} on confirm sends one release POST and the dialog says Released`, async ({ page }) => {
    const key = `once:twice:${how.replace(" ", "-")}:${Date.now()}`;
    const holder = `holder-${token()}`;
    await redis.set(key, holder, "PX", 120_000);
    const posts = countReleasePosts(page);
    await openDialog(page, key, holder, `e2e: ${how} on confirm`);
    if (how === "double-click") await page.getByTestId("release-confirm").dblclick();
    else {
      await page.getByTestId("release-confirm").focus();
      await page.keyboard.press("Enter");
      await page.keyboard.press("Enter");
    }
    const result = page.getByTestId("release-result");
    await expect(result).toBeVisible();
    // Time for a second POST and its answer to arrive, if one left.
    await page.waitForTimeout(1_500);
    expect(posts, "release POSTs sent").toHaveLength(1);
    await expect(result).toHaveAttribute("data-outcome", "released");
    await expect(result).toContainText("Released ✓");
    await expect(result).toContainText("Now free");
    expect(await redis.exists(key)).toBe(0);
  });
}

test("a lock taken again with the same token after a force-release can be force-released again from a fresh page", async ({ page }) => {
  const key = `once:same-token:${Date.now()}`;
  const holder = "billing-worker-7:31337"; // host:pid, as many apps write
  await redis.set(key, holder, "PX", 120_000);
  await openDialog(page, key, holder, "e2e: stuck, first release");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  expect(await redis.exists(key)).toBe(0);

  // The app restarts and takes the lock again with the same token.
  await page.waitForTimeout(1_000);
  await redis.set(key, holder, "PX", 120_000);
  await page.waitForTimeout(1_000);
  const posts = countReleasePosts(page);
  await openDialog(page, key, holder, "e2e: stuck again, second release");
  await page.getByTestId("release-confirm").click();
  const result = page.getByTestId("release-result");
  await expect(result).toHaveAttribute("data-outcome", "released");
  await expect(result).toContainText("Released ✓");
  expect(posts).toHaveLength(1);
  expect(await redis.exists(key)).toBe(0);
});

test("a lock whose TTL ran out while the dialog was open is gone, not 'already released'", async ({ page }) => {
  const key = `once:expires:${Date.now()}`;
  const holder = `exp-holder-${token()}`;
  await redis.set(key, holder, "PX", 4_000);
  await openDialog(page, key, holder, "e2e: expired while open");
  await expect(page.getByRole("alert").filter({ hasText: "The lock changed since this dialog opened" })).toBeVisible({ timeout: 15_000 });
  expect(await redis.exists(key)).toBe(0);
  await page.getByTestId("release-confirm").click();
  const result = page.getByTestId("release-result");
  await expect(result).toHaveAttribute("data-outcome", "gone");
  await expect(result).toContainText("Not there any more — nothing was deleted.");
  await expect(result).toContainText(/expired/);
  await expect(result).not.toContainText(/already released/i);
});
