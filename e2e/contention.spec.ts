import { expect, test } from "@playwright/test";

// The e2e console runs the embedded demo ("demo", with its workload) from boot, so history
// fills up on its own: bursty locks queue workers within seconds.

test("the contention page draws the heatmap with data, and a cell opens that lock's timeline", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("link", { name: "Contention" }).click();
  await expect(page).toHaveURL(/\/contention/);
  await page.getByTestId("range-picker").getByRole("button", { name: "5m", exact: true }).click();
  await expect(page).toHaveURL(/range=5m/);

  // Cells with waiting in them: the page refetches every 5 s while the workload runs.
  const hot = page.locator('[data-testid="heatmap-cell"]:not([data-wait-ms="0"])');
  await expect.poll(() => hot.count(), { timeout: 45_000, intervals: [1_000] }).toBeGreaterThan(0);
  await expect(page.getByTestId("contention-row").first()).toBeVisible();

  const cell = hot.first();
  const key = (await cell.getAttribute("data-key"))!;
  await cell.click();
  await expect(page).toHaveURL(new RegExp(`/c/demo/lock\\?key=${encodeURIComponent(key).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));

  const timeline = page.getByTestId("lock-timeline");
  await expect(timeline).toBeVisible();
  await expect.poll(() => timeline.getByTestId("timeline-segment").count(), { timeout: 15_000 }).toBeGreaterThan(0);
  // A cell is hot as soon as someone waits (waits in progress count); the percentiles are of
  // finished waits, so they fill once that lock's first wait ends (the timeline refetches).
  await expect(timeline.getByTestId("wait-percentiles")).not.toContainText("– / – / –", { timeout: 30_000 });
  await expect(timeline.getByTestId("history-resolution")).toContainText(/live/);
});

test("GET /api/metrics is Prometheus text with per-connection and bounded per-lock series", async ({ request }) => {
  await expect
    .poll(async () => (await (await request.get("/api/metrics")).text()).includes("lockdeck_lock_acquisitions_total{"), { timeout: 30_000 })
    .toBe(true);
  const res = await request.get("/api/metrics");
  expect(res.headers()["content-type"]).toContain("text/plain");
  const text = await res.text();
  expect(text).toMatch(/^lockdeck_locks_held\{connection="demo",kind="memory"\} \d+$/m);
  expect(text).toMatch(/^lockdeck_snapshot_duration_seconds\{connection="redis",kind="redis"\} \d+(\.\d+)?(e-?\d+)?$/m);
  expect(text).toMatch(/^lockdeck_lock_wait_seconds_bucket\{connection="demo",key="[^"]+",le="\+Inf"\} \d+$/m);
  const perLock = new Set([...text.matchAll(/^lockdeck_lock_acquisitions_total\{connection="[^"]*",key="([^"]*)"\}/gm)].map((m) => m[1]));
  expect(perLock.size).toBeLessThanOrEqual(20);
});
