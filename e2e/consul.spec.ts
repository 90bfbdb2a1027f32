import { expect, test } from "@playwright/test";
import type { HoldProcess } from "../scripts/capture/hold";
import { holdConsulCli } from "../scripts/capture/consul/hold";

// Real holders against the real Consul agent the rig started (scripts/servers/e2e-consul.ts):
// the `consul lock` CLI from the same build, and sessions made over Consul's HTTP API.
const consulUrl = process.env.E2E_CONSUL_URL!;
const consulAddr = process.env.E2E_CONSUL_ADDR!;
const consulBin = process.env.E2E_CONSUL_BIN!;
const procs: HoldProcess[] = [];

test.afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
});

async function consul(method: "GET" | "PUT", path: string, body?: string): Promise<string> {
  const res = await fetch(consulUrl + path, { method, body });
  if (res.status === 404) return "";
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.text();
}

async function session(name: string): Promise<string> {
  return (JSON.parse(await consul("PUT", "/v1/session/create", JSON.stringify({ Name: name, TTL: "60s", LockDelay: "2s" }))) as { ID: string }).ID;
}

async function acquire(key: string, sid: string): Promise<void> {
  expect(await consul("PUT", `/v1/kv/${key}?acquire=${sid}`, "payload")).toBe("true");
}

/** Who holds `key` in Consul right now ("" when free, null when the key is gone). */
async function holderOf(key: string): Promise<string | null> {
  const text = await consul("GET", `/v1/kv/${key}?consistent`);
  return text ? ((JSON.parse(text) as Array<{ Session?: string }>)[0].Session ?? "") : null;
}

const lockPage = (key: string) => `/c/consul/lock?key=${encodeURIComponent(key)}`;

test("a `consul lock` holder appears live with its session; the dialog's txn release frees it and the CLI sees it lost", async ({ page }) => {
  await page.goto("/c/consul");
  await expect(page.getByTestId("mode-indicator").first()).toContainText(/live/i);
  const prefix = `e2e/cli-${Date.now()}`;
  const key = `${prefix}/.lock`;
  const holder = holdConsulCli(consulBin, consulAddr, prefix);
  procs.push(holder);
  await holder.waitForLine("READY", 30_000);
  const row = page.locator(`[data-testid="lock-row"][data-key="${key}"]`);
  await expect(row).toBeVisible({ timeout: 10_000 });
  const sid = await holderOf(key);
  expect(sid).toBeTruthy();

  await row.click();
  await expect(page).toHaveURL(new RegExp(`/c/consul/lock\\?key=${encodeURIComponent(key).replace(/\./g, "\\.")}`));
  await expect(page.getByTestId("holder-id").first()).toContainText(sid!);
  await expect(page.getByTestId("holder-row").first()).toContainText(`Consul lock for`);
  await expect(page.getByTestId("lock-ttl").first()).toContainText("session TTL 15s");

  await page.getByTestId("release-button").click();
  const dialog = page.getByTestId("release-dialog");
  await expect(dialog).toBeVisible();
  await expect(page.getByTestId("release-deletes")).toContainText(`UNLOCKS ${key}`);
  await expect(dialog).toContainText("/v1/txn");
  await page.getByTestId("release-reason").fill("e2e: deploy lock stuck");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  // `consul lock` notices (its monitor sees the session gone from the key), kills its child and exits.
  const code = await Promise.race([holder.exited, new Promise<"running">((r) => setTimeout(() => r("running"), 15_000))]);
  expect(code).not.toBe("running");
  expect(await holderOf(key)).not.toBe(sid);
});

test("txn release frees one key at once while the session's second key stays held", async ({ page }) => {
  const base = `e2e/pair-${Date.now()}`;
  const sid = await session("e2e-worker");
  await acquire(`${base}/a`, sid);
  await acquire(`${base}/b`, sid);
  await page.goto(lockPage(`${base}/a`));
  await expect(page.getByTestId("holder-id").first()).toContainText(sid);
  await page.getByTestId("release-button").click();
  await expect(page.getByTestId("release-dialog")).toContainText(`${base}/b`); // "keeps holding 1 other key"
  await page.getByTestId("release-reason").fill("e2e: free only a");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  expect(await holderOf(`${base}/a`)).toBe("");
  expect(await holderOf(`${base}/b`)).toBe(sid);
  // And nothing stops a new holder right away: txn unlock applies no lock-delay.
  const other = await session("e2e-next");
  await acquire(`${base}/a`, other);
});

test("session destroy shows its blast radius and lock-delay, then frees every key of the session", async ({ page }) => {
  const base = `e2e/destroy-${Date.now()}`;
  const sid = await session("e2e-batch");
  await acquire(`${base}/c`, sid);
  await acquire(`${base}/d`, sid);
  await page.goto("/c/consul");
  await expect(page.locator(`[data-testid="lock-row"][data-key="${base}/d"]`)).toBeVisible({ timeout: 10_000 });
  await page.goto(lockPage(`${base}/c`));
  await expect(page.getByTestId("holder-id").first()).toContainText(sid);
  await page.getByTestId("release-button").click();
  const dialog = page.getByTestId("release-dialog");
  await dialog.locator('input[type="radio"][value="destroy-session"]').check();
  const deletes = page.getByTestId("release-deletes");
  await expect(deletes).toContainText(`DESTROYS session ${sid}`);
  await expect(deletes).toContainText(`${base}/c`);
  await expect(deletes).toContainText(`${base}/d`);
  await expect(dialog).toContainText("lock-delay of 2 s");
  await expect(dialog).toContainText(`/v1/session/destroy/${sid}`);
  await page.getByTestId("release-reason").fill("e2e: batch session wedged");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  expect(await holderOf(`${base}/c`)).toBe("");
  expect(await holderOf(`${base}/d`)).toBe("");
  expect(await consul("GET", `/v1/session/info/${sid}`)).toMatch(/^\s*(\[\s*\]|null)\s*$/);
});

test("the sessions page lists a session's configured TTL, lock-delay, checks and the keys it holds", async ({ page }) => {
  const key = `e2e/sess-${Date.now()}/x`;
  const sid = await session("e2e-sessions");
  await acquire(key, sid);
  await page.goto("/c/consul");
  await page.getByRole("link", { name: "Sessions" }).click();
  await expect(page).toHaveURL(/\/c\/consul\/sessions$/);
  const row = page.locator(`[data-testid="session-row"][data-session="${sid}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId("session-ttl")).toHaveText("60s");
  await expect(row.getByTestId("session-lock-delay")).toContainText("2");
  await expect(row.getByTestId("session-behavior")).toHaveText("release");
  await expect(row).toContainText("serfHealth");
  await expect(row.getByTestId("session-keys")).toContainText(key);
  await expect(page.getByTestId("sessions-ttl-note")).toContainText("not the time left");
  await row.getByRole("link", { name: key }).click();
  await expect(page.getByTestId("holder-id").first()).toContainText(sid);
});

test("the consistency setting changes how every view is read, and says so", async ({ page }) => {
  const key = `e2e/mode-${Date.now()}/x`;
  await acquire(key, await session("e2e-mode"));
  const setMode = async (value: string) => {
    await page.goto("/c/consul/settings");
    await page.getByTestId("settings-form").locator(`input[type="radio"][value="${value}"]`).check();
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Saved" })).toBeVisible();
  };
  await setMode("stale");
  try {
    await page.goto(lockPage(key));
    await expect(page.getByText("stale (any server may answer) · last contact with the leader").first()).toBeVisible();
    await page.goto("/c/consul/sessions");
    await expect(page.getByText(/stale \(any server may answer\)/).first()).toBeVisible();
  } finally {
    await setMode("default");
  }
  await page.goto(lockPage(key));
  await expect(page.getByText(/default \(leader-served/).first()).toBeVisible();
});

test("a holding let go by its session's end is recorded expired, 'its session ended', never released by its holder", async ({ page }) => {
  const key = `e2e/ended-${Date.now()}/x`;
  const sid = await session("e2e-ended");
  await acquire(key, sid);
  await page.goto(lockPage(key));
  await expect(page.getByTestId("holder-id").first()).toContainText(sid);
  // Ended elsewhere (an operator's `consul session destroy`; a TTL or a failed check does the same).
  await consul("PUT", `/v1/session/destroy/${sid}`);
  expect(await holderOf(key)).toBe("");
  await expect(async () => {
    await page.goto("/");
    const ev = page.getByTestId("recent-event").filter({ hasText: key }).first();
    await expect(ev).toHaveAttribute("data-kind", "expired", { timeout: 1_000 });
    await expect(ev).toContainText("its session ended (Consul invalidated it", { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await page.goto(lockPage(key));
  await expect(page.locator('[data-testid="timeline-segment"][data-end-kind="expired"] title')).toContainText("expired (its session ended");
});
