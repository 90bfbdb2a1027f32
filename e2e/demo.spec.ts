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

test("the lock table's keyboard and its place: j selects, Enter opens, ← locks comes back filtered with the selection kept, / focuses the key filter", async ({
  page,
}) => {
  const rows = page.getByTestId("lock-row");
  const second = page.locator('[data-testid="lock-row"][aria-rowindex="3"]');
  // The demo's locks come and go, and the selection is a row of the table: a lock taken or
  // released between reading the row's key and Enter moves another lock into that row. Such a
  // round is tried again; Enter opening any other lock than the selected row's fails every time.
  await expect(async () => {
    await page.goto("/c/demo?sort=key&dir=asc");
    await expect.poll(async () => rows.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    await page.keyboard.press("j");
    await expect(page.locator('[data-testid="lock-row"][aria-rowindex="2"]')).toHaveAttribute("aria-selected", "true");
    await page.keyboard.press("j");
    await expect(second).toHaveAttribute("aria-selected", "true");
    const key = (await second.getAttribute("data-key"))!;
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(`/c/demo/lock?key=${encodeURIComponent(key)}`, { timeout: 5_000 });
  }).toPass({ timeout: 40_000 });
  const back = page.getByRole("link", { name: "← locks" });
  await expect(back).toHaveAttribute("href", "/c/demo?sort=key&dir=asc");
  await back.click();
  await expect(page).toHaveURL(/\/c\/demo\?sort=key&dir=asc$/);
  await expect(second).toHaveAttribute("aria-selected", "true");
  await page.keyboard.press("/");
  await expect(page.getByTestId("filter-q")).toBeFocused();
});
