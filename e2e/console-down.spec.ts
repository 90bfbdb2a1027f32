// The console itself stops answering (a crash, a restart, a proxy outage, a laptop that woke
// before its network): the open pages keep the last answer, and must not keep calling it current.
// Within a few refreshes the badge reads stale with an age that grows, the banner says the
// console has not answered, the rows are dimmed and the header's dot is not green; once the
// console answers again the pages are current by themselves. (Old code: "live, confirmed just
// now" for as long as the console was down, over a holder the store no longer had.)
import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { startConsole, type Console } from "../scripts/servers/console";

test("the console killed under an open lock page and table: shown stale with a growing age, then current again by itself", async ({ page, context }) => {
  test.setTimeout(120_000);
  const redis = new Redis(process.env.E2E_REDIS_URL!);
  const key = `down:lock:${Date.now()}`;
  let lockdeck: Console | null = null;
  try {
    await redis.set(key, `tok-down-${Date.now()}`, "PX", 120_000);
    lockdeck = await startConsole({
      config: { connections: [{ id: "r", kind: "redis", url: process.env.E2E_REDIS_URL, patterns: ["down:*"], notifications: "use" }] },
      name: "console-down",
    });
    await page.goto(`${lockdeck.url}/c/r/lock?key=${encodeURIComponent(key)}`);
    const badge = page.getByTestId("mode-indicator");
    await expect(badge).toHaveAttribute("data-mode", "live", { timeout: 20_000 });
    const table = await context.newPage();
    await table.goto(`${lockdeck.url}/c/r`);
    const row = table.locator(`[data-testid="lock-row"][data-key="${key}"]`);
    await expect(row).toBeVisible({ timeout: 20_000 });
    await expect(row).not.toHaveAttribute("data-stale", "true");

    await lockdeck.kill9();
    const killed = Date.now();
    await redis.set(key, `tok-down-new-holder-${Date.now()}`, "PX", 120_000);
    await expect(badge).toHaveAttribute("data-mode", "stale", { timeout: 15_000 });
    console.log(`console-down: the lock page read stale ${Date.now() - killed} ms after the console was killed`);
    const banner = page.getByTestId("connection-banner");
    await expect(banner).toContainText(/the console has not answered for [\d.]+s/);
    await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-console-silent", "true");
    await expect(page.getByTestId("release-button")).toContainText(/view .* old/);
    await expect(row).toHaveAttribute("data-stale", "true");
    await expect(table.getByTestId("mode-indicator")).toHaveAttribute("data-mode", "stale");
    // The age grows while the console is silent.
    const age = Number(await badge.getAttribute("data-age-ms"));
    await expect.poll(async () => Number(await badge.getAttribute("data-age-ms")), { timeout: 5_000 }).toBeGreaterThan(age + 1_500);

    await lockdeck.restart();
    await expect(badge).toHaveAttribute("data-mode", "live", { timeout: 30_000 });
    await expect(page.getByTestId("connection-banner")).toHaveCount(0);
    await expect(page.getByTestId("holder-row")).toContainText("new-holder", { timeout: 15_000 });
    await expect(row).not.toHaveAttribute("data-stale", "true", { timeout: 15_000 });
  } finally {
    redis.disconnect();
    await lockdeck?.stop();
  }
});
