import { gzipSync } from "node:zlib";
import { expect, test, type Page } from "@playwright/test";
import type { HoldProcess } from "../scripts/capture/hold";
import { goWaits, prepareGoHold } from "../scripts/capture/etcd/hold";
import { clientLine } from "../scripts/capture/waits";

// The Waits view (issue 15) against the embedded demo (its deadlocked ledger pair and its ETL
// chain, lib/demo/waits.ts) and against real Go etcd clients deadlocked on the rig's etcd.

const procs: HoldProcess[] = [];
test.afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});

const PAIR = ["ledger:account:1001", "ledger:account:2002"];

test("the demo's deadlock: the cycle is listed and drawn, each lock links to its page, which says who waits for what", async ({ page }) => {
  await page.goto("/c/demo/waits");
  const cycle = page.getByTestId("waits-cycle").filter({ hasText: PAIR[0] });
  await expect(cycle).toBeVisible({ timeout: 20_000 });
  await expect(cycle.getByTestId("waits-lock")).toHaveCount(2);
  await expect(cycle).toContainText("ledger-sync-1 pid 3101");
  await expect(cycle).toContainText("ledger-sync-2 pid 3102");

  // The graph draws the two locks of the cycle in the deadlock colour, each a link to its lock.
  const nodes = page.locator('[data-testid="graph-lock"][data-hot]');
  await expect(nodes).toHaveCount(2);
  await expect(page.locator('[data-testid="graph-edge"][data-hot]')).toHaveCount(4);
  await page.locator(`[data-testid="graph-lock"][data-key="${PAIR[1]}"]`).click();
  await expect(page).toHaveURL(new RegExp(`/c/demo/lock\\?key=${encodeURIComponent(PAIR[1])}$`));
  await expect(page.getByTestId("lock-deadlock")).toContainText("ledger-sync-1 pid 3101");
  await expect(page.getByText("deadlock", { exact: true }).first()).toBeVisible();
  await expect(page.getByTestId("holder-waits-for")).toContainText(`is itself waiting for ${PAIR[0]}`);
  await expect(page.getByTestId("holder-waits-for")).toContainText(/since \d\d:\d\d:\d\d/);

  // And from the list: the other lock.
  await page.goto("/c/demo/waits");
  await page.getByTestId("waits-cycle").getByTestId("waits-lock").filter({ hasText: PAIR[0] }).click();
  await expect(page).toHaveURL(new RegExp(`/c/demo/lock\\?key=${encodeURIComponent(PAIR[0])}$`));
  await expect(page.getByTestId("lock-status").first()).toContainText("stale");
});

test("the demo's chain: the last stage blocks five, no deadlock on it", async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto("/c/demo/waits");
  const head = page.locator('[data-testid="blocker"][data-owner="owner:etl-stage-6 pid 4105"]').first();
  // The chain stands for minutes, unwinds, and forms again within a minute (lib/demo/waits.ts).
  await expect(head).toContainText("blocks 5 clients", { timeout: 90_000 });
  await expect(head).toContainText("chains 5 deep");
  await expect(head).not.toContainText("on a deadlock");
  await expect(page.getByTestId("waits-cycle").filter({ hasText: "etl:stage" })).toHaveCount(0);
});

test("real Go etcd clients in a deadlock show as one cycle named by their locks, linked to them", async ({ page }) => {
  test.setTimeout(300_000); // a cold Go build of the hold program can take two minutes
  const go = await prepareGoHold();
  const base = `e2e/waits-${Date.now()}`;
  const p = goWaits(go, process.env.E2E_ETCD_ENDPOINT!, [`${base}/a>${base}/b`, `${base}/b>${base}/a`], 30);
  procs.push(p);
  await p.waitForLine("READY", 30_000);
  await page.goto("/c/etcd/waits");
  const cycle = page.getByTestId("waits-cycle").filter({ hasText: base });
  await expect(cycle).toBeVisible({ timeout: 20_000 });
  for (const i of [0, 1]) await expect(cycle.locator(`[data-owner="lease:${clientLine(p, "LEASE", i)}"]`).first()).toBeVisible();
  await page.locator(`[data-testid="graph-lock"][data-key="${base}/a/"]`).click();
  await expect(page).toHaveURL(new RegExp(`/c/etcd/lock\\?key=${encodeURIComponent(`${base}/a/`)}$`));
  await expect(page.getByTestId("lock-deadlock")).toBeVisible();
});

/** gzip size of every script a page loads until it is idle. */
async function scriptsLoaded(page: Page, url: string, ready: () => Promise<void>): Promise<Array<{ url: string; gzip: number; body: string }>> {
  const seen: Array<Promise<{ url: string; gzip: number; body: string } | null>> = [];
  page.on("response", (r) => {
    if (r.request().resourceType() !== "script") return;
    seen.push(
      r.body().then(
        (b) => ({ url: r.url(), gzip: gzipSync(b).length, body: b.toString("utf8") }),
        () => null,
      ),
    );
  });
  await page.goto(url);
  await ready();
  await page.waitForLoadState("networkidle");
  return (await Promise.all(seen)).filter((x): x is { url: string; gzip: number; body: string } => x !== null);
}

test("the graph layout library loads on the Waits view only, and that view stays under 250 KB of JS (gzip)", async ({ page, browser }) => {
  const waits = await scriptsLoaded(page, "/c/demo/waits", () => expect(page.getByTestId("waits-graph")).toBeVisible({ timeout: 20_000 }));
  const total = waits.reduce((n, s) => n + s.gzip, 0);
  const layout = waits.filter((s) => s.body.includes("ranksep"));
  expect(layout.length, "the layout chunk").toBeGreaterThan(0);
  console.log(
    `first-load JS of /c/demo/waits: ${(total / 1024).toFixed(1)} KB gzip in ${waits.length} scripts (layout chunk ${(layout.reduce((n, s) => n + s.gzip, 0) / 1024).toFixed(1)} KB)`,
  );
  expect(total, `first-load JS of /c/demo/waits: ${(total / 1024).toFixed(1)} KB gzip`).toBeLessThanOrEqual(250 * 1024);

  const other = await browser.newPage();
  const table = await scriptsLoaded(other, "/c/demo", () => expect(other.getByTestId("lock-row").first()).toBeVisible({ timeout: 20_000 }));
  expect(table.filter((s) => s.body.includes("ranksep")).map((s) => s.url)).toEqual([]);
  await other.close();
});

test("the alerts page lists the demo's deadlock as firing, each alert linked to its lock", async ({ page }) => {
  await page.goto("/alerts");
  const row = page.locator(`[data-testid="alert-row"][data-rule="deadlock"][data-key="${PAIR[0]}"]`);
  await expect(row).toContainText("LockDeadlock", { timeout: 20_000 });
  await expect(row).toContainText("firing since");
  await expect(page.getByTestId("alerts-webhooks")).toContainText("No webhook is configured");
  await row.getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/c/demo/lock\\?key=${encodeURIComponent(PAIR[0])}$`));
});

test("the overview's recent events list the demo's deadlock", async ({ page }) => {
  await page.goto("/");
  const events = page.getByTestId("recent-events");
  await expect(events.locator('[data-testid="recent-event"][data-kind="deadlock"]').first()).toContainText("deadlock", { timeout: 20_000 });
});
