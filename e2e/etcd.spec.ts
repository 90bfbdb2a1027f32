import { expect, test } from "@playwright/test";
import type { HoldProcess } from "../scripts/capture/hold";
import { etcdctlLock, goHold, interrupt, lineValue, prepareGoHold } from "../scripts/capture/etcd/hold";

// Real holders against the real etcd the rig started (scripts/servers/e2e-etcd.ts): etcdctl
// from Debian's etcd-client, and the Go concurrency program (go.etcd.io/etcd/client/v3).
const endpoint = process.env.E2E_ETCD_ENDPOINT!;
const procs: HoldProcess[] = [];
const track = (p: HoldProcess) => (procs.push(p), p);

test.afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => (p.label.startsWith("etcdctl") ? interrupt(p).catch(() => p.kill()) : p.kill())));
});

async function firstLine(p: HoldProcess, re: RegExp): Promise<string> {
  await expect.poll(() => p.lines().some((l) => re.test(l)), { timeout: 15_000, message: `${p.label} printed ${re}` }).toBe(true);
  return p.lines().find((l) => re.test(l))!;
}

const suffix = (key: string) => key.slice(key.lastIndexOf("/") + 1);

test("an etcdctl lock holder and then a waiter appear live in the table", async ({ page }) => {
  await page.goto("/c/etcd");
  await expect(page.getByTestId("mode-indicator").first()).toContainText(/live/i);
  const name = `e2e/jobs-${Date.now()}`;
  const holder = track(etcdctlLock(endpoint, name, 30));
  const holderKey = await firstLine(holder, new RegExp(`^${name}/`));
  const row = page.locator(`[data-testid="lock-row"][data-key="${name}/"]`);
  await expect(row).toBeVisible({ timeout: 10_000 });
  await expect(row.getByTestId("holder-id")).toHaveAttribute("data-holder-id", suffix(holderKey));
  await expect(row).toHaveAttribute("data-status", "held");

  track(etcdctlLock(endpoint, name, 30));
  await expect(row).toHaveAttribute("data-status", "contended", { timeout: 10_000 });
  await expect(row).toContainText("1");
});

test("a lease revoke shows its blast radius in the dialog, and frees the lock for the waiter", async ({ page }) => {
  test.setTimeout(300_000); // a cold Go build of the hold program can take two minutes
  const go = await prepareGoHold();
  const stamp = Date.now();
  const [orders, payments, leader] = [`e2e/orders-${stamp}`, `e2e/payments-${stamp}`, `e2e/leader-${stamp}`];
  // One Go session (one lease): two mutexes and an election.
  const holder = track(goHold(go, endpoint, [`mutex:${orders}`, `mutex:${payments}`, `elect:${leader}=worker-7`], 6));
  await holder.waitForLine("READY", 30_000);
  const lease = lineValue(holder, "LEASE");
  // etcdctl lock uses the same Mutex layout: it queues behind the Go holder.
  const waiter = track(etcdctlLock(endpoint, orders, 30));

  await page.goto(`/c/etcd/lock?key=${encodeURIComponent(orders + "/")}`);
  await expect(page.getByTestId("holder-id").first()).toHaveText(lease);
  await expect(page.getByTestId("waiter-row")).toHaveCount(1, { timeout: 10_000 });
  await expect(page.getByTestId("fencing-token")).toContainText(/fencing token \d+/);

  await page.getByTestId("release-button").click();
  const dialog = page.getByTestId("release-dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByRole("radio", { name: /revoke-lease/ }).check();
  const deletes = page.getByTestId("release-deletes");
  for (const key of [`${orders}/${lease}`, `${payments}/${lease}`, `${leader}/${lease}`]) await expect(deletes).toContainText(key);
  await expect(dialog).toContainText(`lease revoke ${lease}`);
  await expect(page.getByTestId("release-holder-warning")).toHaveCount(0); // a revoke does tell the holder

  await page.getByTestId("release-reason").fill("e2e: worker-7 wedged, INC-77");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  await expect(page.getByTestId("release-result")).toContainText(`revoked lease ${lease}`);

  // The Go holder learns its session is gone; the etcdctl waiter now holds the lock.
  await holder.waitForLine("SESSION-LOST", 15_000);
  const waiterKey = await firstLine(waiter, new RegExp(`^${orders}/`));
  await page.getByTestId("release-cancel").click();
  await expect(page.getByTestId("holder-id").first()).toHaveText(suffix(waiterKey), { timeout: 10_000 });
  await expect(page.getByTestId("waiter-row")).toHaveCount(0);

  await page.goto("/c/etcd");
  await expect(page.locator(`[data-testid="lock-row"][data-key="${payments}/"]`)).toHaveCount(0, { timeout: 10_000 });
  await expect(page.locator(`[data-testid="lock-row"][data-key="${leader}/"]`)).toHaveCount(0);
});

test("the leases page lists leases with etcd's TTL, their keys and which are locks, and the cluster status", async ({ page }) => {
  const name = `e2e/leased-${Date.now()}`;
  const holder = track(etcdctlLock(endpoint, name, 30));
  const holderKey = await firstLine(holder, new RegExp(`^${name}/`));
  const lease = suffix(holderKey);
  await page.goto("/c/etcd");
  await page.getByRole("link", { name: "Leases" }).click();
  await expect(page).toHaveURL(/\/c\/etcd\/leases$/);
  await expect(page.getByTestId("cluster-status")).toContainText("leader etcd-0");
  await expect(page.getByTestId("cluster-member")).toHaveCount(1);
  const row = page.locator(`[data-testid="lease-row"][data-lease="${lease}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId("lease-key")).toHaveAttribute("data-role", "holder");
  await expect(row).toContainText("of 30s");
  const ttl = Number(await row.getByTestId("lease-ttl").getAttribute("data-ttl-sec"));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(30);
  await row.getByRole("link", { name: holderKey }).click();
  await expect(page).toHaveURL(new RegExp(`/c/etcd/lock\\?key=${encodeURIComponent(name + "/").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
});
