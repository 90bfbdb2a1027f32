import { expect, test } from "@playwright/test";

test("the embedded demo shows at least 20 live locks with holders, waiters and stale ones", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByTestId("connection-card-demo")).toBeVisible();
  await page.getByTestId("connection-card-demo").getByRole("link").first().click();
  await expect(page).toHaveURL(/\/c\/demo/);
  const rows = page.getByTestId("lock-row");
  await expect.poll(async () => rows.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(20);
  const statuses = await page.getByTestId("lock-status").allTextContents();
  expect(statuses.some((s) => /contended/i.test(s))).toBe(true);
  expect(statuses.some((s) => /stale/i.test(s))).toBe(true);
  await expect(page.getByTestId("mode-indicator").first()).toContainText(/live/i);
});

test("the contention page lists the locks that are stale right now, each a link to the lock", async ({ page }) => {
  await page.goto("/contention");
  const rows = page.getByTestId("stale-now").getByTestId("stale-row").filter({ hasText: "demo" });
  await expect(rows.first()).toBeVisible({ timeout: 15_000 });
  await expect(rows.first()).toContainText(/no expiry|not renewed/);
  await rows.first().getByRole("link").click();
  await expect(page).toHaveURL(/\/c\/demo\/lock\?key=/);
  await expect(page.getByTestId("lock-status").first()).toContainText(/stale/i);
});
