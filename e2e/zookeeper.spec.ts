// ZooKeeper end to end: real Apache Curator clients (a JVM running scripts/capture/curator in hold
// mode) take a lock on the rig's ZooKeeper; what a person sees in LockDeck follows them live,
// and a versioned release from the UI hands the lock to the next Curator waiter.
import { expect, test } from "@playwright/test";
import { startHold, type HoldProcess } from "../scripts/capture/hold";
import { HOLD_JVM_FLAGS } from "../scripts/capture/curator/prepare";
import { CreateMode, ZkSession } from "../lib/stores/zookeeper/client";
import { createLockDir } from "./zk-lock-dir";

const address = process.env.E2E_ZK_ADDRESS!;
const procs: HoldProcess[] = [];
test.afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});

async function curator(scenario: string, path: string, contenders: number): Promise<HoldProcess> {
  const p = startHold(`curator ${scenario}`, process.env.E2E_CURATOR_JAVA!, [
    ...HOLD_JVM_FLAGS,
    "-jar",
    process.env.E2E_CURATOR_JAR!,
    "hold",
    address,
    scenario,
    path,
    String(contenders),
  ]);
  procs.push(p);
  await p.waitForLine("READY", 60_000);
  return p;
}

const seq = (id: string | null) => Number(/(\d{10})$/.exec(id ?? "")?.[1]);
const session = (p: HoldProcess, i: number) =>
  p
    .lines()
    .find((l) => l.startsWith(`SESSION ${i} `))!
    .split(" ")[2];

test("a Curator holder and two waiters appear live in order; a release hands the lock to the next waiter", async ({ page }) => {
  const path = `/locks/e2e-${Date.now()}`;
  await page.goto("/c/zookeeper");
  await expect(page.getByTestId("mode-indicator").first()).toContainText(/live/i);
  const p = await curator("mutex", path, 3);
  // The table learns of the new lock from a watch, without a reload.
  await expect(page.locator(`[data-testid="lock-row"][data-key="${path}"]`)).toBeVisible({ timeout: 10_000 });

  await page.goto(`/c/zookeeper/lock?key=${encodeURIComponent(path)}`);
  const holder = page.getByTestId("holder-id").first();
  await expect(holder).toContainText("-lock-0000000000");
  await expect(page.getByTestId("holder-row").first()).toContainText(session(p, 0).slice(0, 4));
  await expect(page.getByTestId("lock-ttl").first()).toHaveText("while its session lives");
  await expect(page.getByText(/sync\(\) then read · answered by 127\.0\.0\.1:\d+ \(standalone\)/).first()).toBeVisible();
  const waiters = page.getByTestId("waiter-row");
  await expect(waiters).toHaveCount(2);
  const waiterIds = await waiters.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-waiter-id")));
  expect(waiterIds.map(seq)).toEqual([1, 2]);

  await page.getByTestId("release-button").click();
  const dialog = page.getByTestId("release-dialog");
  await expect(dialog).toBeVisible();
  await expect(page.getByTestId("release-deletes")).toContainText(`${path}/`);
  await expect(page.getByTestId("release-deletes")).toContainText("while its version is still 0");
  await expect(dialog).toContainText(`delete -v 0 ${path}/`);
  await expect(dialog).toContainText(new RegExp(`session ${session(p, 0)} is still alive .* NOT told`));
  await page.getByTestId("release-reason").fill("e2e: stuck Curator holder INC-7");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  await p.waitForLine("HOLDS 1", 15_000);
  await page.getByTestId("release-cancel").click();

  // The first waiter now holds, the second still waits: the page follows without a reload.
  await expect(holder).toHaveAttribute("title", waiterIds[0]!, { timeout: 10_000 });
  await expect(waiters).toHaveCount(1);
  await expect(waiters.first()).toHaveAttribute("data-waiter-id", waiterIds[1]!);
});

test("a holder node that changed after the dialog opened is refused (409) and kept; after a review the release goes through", async ({ page }) => {
  const path = `/locks/e2e-aba-${Date.now()}`;
  const p = await curator("mutex", path, 2);
  await page.goto(`/c/zookeeper/lock?key=${encodeURIComponent(path)}`);
  const holder = page.getByTestId("holder-id").first();
  await expect(holder).toContainText("-lock-0000000000");
  const holderPath = `${path}/${await holder.getAttribute("title")}`;
  await page.getByTestId("release-button").click();
  await expect(page.getByTestId("release-dialog")).toBeVisible();
  // The holder's node changes (its data version moves to 1) between the look and the confirm.
  const raw = new ZkSession({ connectString: address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
  try {
    await raw.connected();
    await raw.setData(holderPath, Buffer.from("10.0.0.9"), 0);
    await page.getByTestId("release-reason").fill("e2e: ABA guard");
    await page.getByTestId("release-confirm").click();
    await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "changed");
    expect(await raw.exists(holderPath)).not.toBeNull();
    expect(p.lines()).not.toContain("HOLDS 1");

    await page.getByTestId("release-review").click();
    await expect(page.getByTestId("release-dialog")).toBeHidden();
    // The page re-read the lock: the holder's new data is the sign of the fresh holding.
    await expect(page.getByTestId("holder-row").first()).toContainText("10.0.0.9");
    // An SSE upsert refreshes the lock but not its release plan (components/live-events.tsx):
    // reopen until the plan is from a read that saw version 1 (the page re-reads every second).
    await expect(async () => {
      await page.getByTestId("release-button").click();
      try {
        await expect(page.getByTestId("release-deletes")).toContainText("while its version is still 1", { timeout: 1_000 });
      } catch (err) {
        await page.getByTestId("release-cancel").click();
        throw err;
      }
    }).toPass({ timeout: 15_000 });
    await page.getByTestId("release-reason").fill("e2e: re-observed");
    await page.getByTestId("release-confirm").click();
    await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
    await p.waitForLine("HOLDS 1", 15_000);
    expect(await raw.exists(holderPath)).toBeNull();
  } finally {
    raw.close();
  }
});

test("an empty lock parent left behind can be pruned from its page", async ({ page }) => {
  const path = `/locks/e2e-empty-${Date.now()}`;
  const raw = new ZkSession({ connectString: address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
  try {
    await raw.connected();
    await createLockDir(raw, path);
    // A contender came and went, as kazoo leaves it: no children, cversion > 0.
    const node = await raw.create(`${path}/0123456789abcdef0123456789abcdef__lock__`, Buffer.from("gone"), CreateMode.EPHEMERAL_SEQUENTIAL);
    await raw.remove(node, 0);

    await page.goto(`/c/zookeeper/lock?key=${encodeURIComponent(path)}`);
    const button = page.getByTestId("release-button");
    await expect(button).toHaveText("Prune empty parent…");
    await button.click();
    await expect(page.getByTestId("release-deletes")).toContainText(`EMPTY ZNODE ${path} only, while its version is still 0`);
    await expect(page.getByTestId("release-dialog")).toContainText(`delete -v 0 ${path}`);
    await page.getByTestId("release-reason").fill("e2e: tidy up");
    await page.getByTestId("release-confirm").click();
    await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
    expect(await raw.exists(path)).toBeNull();
  } finally {
    raw.close();
  }
});
