import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { createHash, randomBytes } from "node:crypto";

const redisUrl = process.env.E2E_REDIS_URL!;
let redis: Redis;

test.beforeAll(() => {
  redis = new Redis(redisUrl);
});
test.afterAll(() => {
  redis.disconnect();
});

const token = () => randomBytes(16).toString("hex");

test("a lock set in Redis appears without a reload", async ({ page }) => {
  await page.goto("/c/redis");
  await expect(page.getByTestId("mode-indicator").first()).toContainText(/live/i);
  // The rig's server sends no keyspace events: the badge names the feed that works without them.
  await expect(page.getByTestId("mode-feed").first()).toContainText("client tracking");
  const key = `e2e:lock:appears:${Date.now()}`;
  await redis.set(key, token(), "PX", 120_000);
  await expect(page.locator(`[data-testid="lock-row"][data-key="${key}"]`)).toBeVisible({ timeout: 10_000 });
});

test("a release with a reason removes the lock and lands in the audit page", async ({ page }) => {
  const key = `e2e:lock:release:${Date.now()}`;
  const value = token();
  await redis.set(key, value, "PX", 120_000);
  await page.goto(`/c/redis/lock?key=${encodeURIComponent(key)}`);
  await expect(page.getByTestId("holder-id").first()).toContainText(value.slice(0, 8));
  await page.getByTestId("release-button").click();
  const dialog = page.getByTestId("release-dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(value);
  // A plain token has no fencing token: the dialog says so once, not in three places.
  await expect(dialog.getByText(/no fencing token/i)).toHaveCount(1);
  await expect(page.getByTestId("release-confirm")).toBeDisabled();
  await page.getByTestId("release-reason").fill("e2e: stuck after deploy INC-1");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toContainText(/released/i);
  expect(await redis.exists(key)).toBe(0);

  await page.goto("/audit");
  const row = page.getByTestId("audit-row").filter({ hasText: key }).filter({ hasText: "e2e: stuck after deploy INC-1" });
  await expect(row.first()).toBeVisible();
  // One row per attempt: its intent and outcome folded together, the holding it was conditional on in words.
  const attempt = page.getByTestId("audit-row").filter({ hasText: key });
  await expect(attempt).toHaveCount(1);
  await expect(attempt).toHaveAttribute("data-outcome", "applied");
  await expect(attempt).toHaveAttribute("data-entries", "2");
  const sha1 = createHash("sha1").update(value).digest("hex");
  await expect(attempt.getByTestId("audit-fence")).toHaveText(`redis.token · value with SHA-1 ${sha1.slice(0, 4)}…${sha1.slice(-5)}`);
});

test("a release against a holding that changed shows 'changed' and deletes nothing", async ({ page }) => {
  const key = `e2e:lock:aba:${Date.now()}`;
  await redis.set(key, token(), "PX", 120_000);
  await page.goto(`/c/redis/lock?key=${encodeURIComponent(key)}`);
  await expect(page.getByTestId("holder-id").first()).toBeVisible();
  await page.getByTestId("release-button").click();
  await expect(page.getByTestId("release-dialog")).toBeVisible();
  // Another client takes over between the operator's look and the confirm.
  const newcomer = token();
  await redis.set(key, newcomer, "PX", 120_000);
  await page.getByTestId("release-reason").fill("e2e: ABA guard");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toContainText(/changed/i);
  expect(await redis.get(key)).toBe(newcomer);
});
