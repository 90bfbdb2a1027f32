// Every page a person can open, on every connection of the e2e config: none may log a console
// error or throw (React hydration mismatches #418 among them), the header fits a 390 px phone,
// and screenshots at 1440 and 390 px land in test-results/screenshots/ as test artefacts.
import { expect, test, type Page } from "@playwright/test";
import Redis from "ioredis";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { HoldProcess } from "../scripts/capture/hold";
import { etcdctlLock } from "../scripts/capture/etcd/hold";
import { CreateMode, ZkSession } from "../lib/stores/zookeeper/client";
import { createLockDir } from "./zk-lock-dir";

interface Conn {
  id: string;
  kind: string;
}

const stamp = Date.now();
let taken = 0;
const held: Array<() => Promise<unknown>> = [];
test.afterAll(async () => {
  await Promise.all(held.splice(0).map((stop) => stop().catch(() => undefined)));
});

/** One held lock per store, taken the way a client library would, so each store has a lock page to open. */
async function holdOneLock(kind: string, conn = kind): Promise<string | null> {
  const n = `${stamp}-${++taken}`;
  if (kind === "redis") {
    const redis = new Redis(conn === "redis-outage" ? process.env.E2E_OUTAGE_REDIS_URL! : process.env.E2E_REDIS_URL!);
    const key = `e2e:lock:pages:${n}`;
    // A homegrown lock's JSON value: the holder reads as its fields, not as `{"ow…`.
    await redis.set(key, JSON.stringify({ owner: "pages-worker", pid: 4242, token: n }), "PX", 120_000);
    held.push(async () => (await redis.del(key), redis.disconnect()));
    return key;
  }
  if (kind === "etcd") {
    const name = `e2e/pages-${n}`;
    const p: HoldProcess = etcdctlLock(process.env.E2E_ETCD_ENDPOINT!, name, 30);
    held.push(() => p.kill());
    await expect.poll(() => p.lines().some((l) => l.startsWith(`${name}/`)), { timeout: 15_000 }).toBe(true);
    return `${name}/`;
  }
  if (kind === "consul") {
    const url = process.env.E2E_CONSUL_URL!;
    const sid = (
      (await (await fetch(`${url}/v1/session/create`, { method: "PUT", body: JSON.stringify({ Name: "e2e-pages", TTL: "60s" }) })).json()) as { ID: string }
    ).ID;
    const key = `e2e/pages-${n}/.lock`;
    expect(await (await fetch(`${url}/v1/kv/${key}?acquire=${sid}`, { method: "PUT", body: "{}" })).text()).toBe("true");
    held.push(() => fetch(`${url}/v1/session/destroy/${sid}`, { method: "PUT" }));
    return key;
  }
  if (kind === "zookeeper") {
    const zk = new ZkSession({ connectString: process.env.E2E_ZK_ADDRESS!, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
    await zk.connected();
    held.push(async () => zk.close());
    const dir = `/locks/e2e-pages-${n}`;
    await createLockDir(zk, dir);
    // Curator's InterProcessMutex layout: _c_<uuid>-lock-<seq>, data = the client's address.
    await zk.create(`${dir}/_c_4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13-lock-`, Buffer.from("127.0.0.1"), CreateMode.EPHEMERAL_SEQUENTIAL);
    return dir;
  }
  return null;
}

interface PageVisit {
  url: string;
  ready: (page: Page) => Promise<void>;
  /** File name of its screenshots (main pages only). */
  shot?: string;
  /** Load on a CPU slowed 8×: the lost hydration race showed on about half such loads, rarely on a fast one. */
  slow?: boolean;
}

/** Opens a page and collects what the browser reports as errors until it is ready and live. */
async function visit(page: Page, { url, ready, slow }: PageVisit): Promise<string[]> {
  const errors: string[] = [];
  const onConsole = (m: { type(): string; text(): string }) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  };
  const onError = (e: Error) => errors.push(`pageerror: ${e.message}`);
  page.on("console", onConsole);
  page.on("pageerror", onError);
  const cdp = slow ? await page.context().newCDPSession(page) : null;
  await cdp?.send("Emulation.setCPUThrottlingRate", { rate: 8 });
  try {
    await page.goto(url);
    await ready(page);
    // Hydration runs before the event stream opens; a live stream means every boundary hydrated.
    if (!url.startsWith("/login")) await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "live");
  } catch (err) {
    errors.push(`not ready: ${(err as Error).message.split("\n")[0]}`);
  } finally {
    await cdp?.send("Emulation.setCPUThrottlingRate", { rate: 1 });
    await cdp?.detach();
    page.off("console", onConsole);
    page.off("pageerror", onError);
  }
  return errors.map((e) => `${url} → ${e}`);
}

const visible = (testId: string) => async (page: Page) => {
  await expect(page.getByTestId(testId).first()).toBeVisible({ timeout: 15_000 });
};

/**
 * A lock page is ready with its holder, who reads as a person would say it: a JSON value as its
 * fields, a Curator holder by address and session. A znode's 9 bytes of data read as bytes.
 */
const lockReady = (kind: string) => async (page: Page) => {
  await visible("holder-row")(page);
  if (kind === "redis") await expect(page.getByTestId("holder-who").first()).toHaveText("owner pages-worker · pid 4242");
  if (kind === "zookeeper") {
    await expect(page.getByTestId("holder-who").first()).toHaveText(/^127\.0\.0\.1 · session 0x[0-9a-f]{2}…[0-9a-f]{5}$/);
    await expect(page.getByTestId("holder-id").first()).toHaveText(/^_c_4f1e2a8c-.*-lock-\d{10}$/);
    await expect(page.getByTestId("raw-size").first()).toHaveText("9 bytes");
  }
};

async function pagesOf(page: Page): Promise<PageVisit[]> {
  const conns = (await (await page.request.get("/api/connections")).json()) as Conn[];
  const out: PageVisit[] = [
    { url: "/", ready: visible("connection-card-demo"), shot: "overview" },
    { url: "/audit", ready: visible("audit-page"), shot: "audit" },
    { url: "/contention", ready: visible("stale-now"), shot: "contention" },
    { url: "/alerts", ready: visible("alerts-summary"), shot: "alerts" },
    { url: "/login", ready: visible("login-name") },
    { url: `/c/no-such-${stamp}`, ready: visible("no-such-connection"), shot: "unknown-connection" },
  ];
  for (const c of conns) {
    const base = `/c/${encodeURIComponent(c.id)}`;
    // Screenshots of one table and lock page per store (the demo's table is the fullest).
    const shot = c.id === c.kind || c.id === "demo";
    // The lock table once as usual, once slowed: the mismatch this guards against was a race.
    for (let i = 0; i < 2; i++) out.push({ url: base, ready: visible("lock-total"), shot: i === 0 && shot ? `table-${c.id}` : undefined, slow: i > 0 });
    const key = await holdOneLock(c.kind, c.id);
    if (key) out.push({ url: `${base}/lock?key=${encodeURIComponent(key)}`, ready: lockReady(c.kind), shot: shot ? `lock-${c.id}` : undefined });
    out.push({ url: `${base}/settings`, ready: visible("settings-form") });
    out.push({ url: `${base}/waits`, ready: visible("waits-summary"), shot: c.id === "demo" ? "waits-demo" : undefined });
    if (c.kind === "etcd") out.push({ url: `${base}/leases`, ready: visible("leases-summary") });
    if (c.kind === "consul") out.push({ url: `${base}/sessions`, ready: visible("sessions-count") });
  }
  return out;
}

test("no page logs a console error or throws, on any connection", async ({ page }) => {
  test.setTimeout(180_000);
  const pages = await pagesOf(page);
  const errors: string[] = [];
  for (const p of pages) errors.push(...(await visit(page, p)));
  expect(errors).toEqual([]);
});

test("at 1440 and 390 px the main pages fit their width (header included); screenshots are kept", async ({ page }, info) => {
  test.setTimeout(180_000);
  const dir = path.join(info.project.outputDir, "screenshots");
  mkdirSync(dir, { recursive: true });
  const pages = (await pagesOf(page)).filter((p) => p.shot);
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    for (const p of pages) {
      await page.goto(p.url);
      await p.ready(page);
      // Nothing in the header reaches past the right edge of the viewport.
      const right = await page
        .getByRole("banner")
        .evaluate((h) => Math.max(h.getBoundingClientRect().right, ...[...h.querySelectorAll("*")].map((e) => e.getBoundingClientRect().right)));
      expect(right, `${p.url} header at ${width} px`).toBeLessThanOrEqual(width);
      const docWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      expect(docWidth, `${p.url} page width at ${width} px`).toBeLessThanOrEqual(width);
      await page.screenshot({ path: path.join(dir, `${p.shot}-${width}.png`) });
    }
  }
});

test("an unknown connection says so and lists the real ones; the header stays live", async ({ page }) => {
  await page.goto(`/c/nope-${stamp}`);
  const panel = page.getByTestId("no-such-connection");
  await expect(panel).toContainText(`No connection “nope-${stamp}”`);
  await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "live");
  // The zone the clock times are in, so a screenshot is not read hours off.
  await expect(page.getByTestId("time-zone")).toHaveText(/^times UTC([+-]\d{1,2}(:\d\d)?)?$/);
  await panel.getByRole("link", { name: "Redis e2e" }).click();
  await expect(page).toHaveURL(/\/c\/redis$/);
  await expect(page.getByTestId("lock-total")).toBeVisible();
});

test("Ctrl+K inside one connection searches every connection", async ({ page }) => {
  const dir = (await holdOneLock("zookeeper"))!;
  await page.goto("/c/redis");
  await expect(page.getByTestId("lock-total")).toBeVisible();
  await page.keyboard.press("Control+k");
  await expect(page.getByTestId("global-search")).toBeFocused();
  await expect(page.getByTestId("global-search")).toHaveAttribute("placeholder", /all connections/);
  await page.keyboard.type(dir.slice(dir.lastIndexOf("/") + 1));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/\?q=/);
  await expect(page.getByRole("link", { name: new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) })).toHaveAttribute(
    "href",
    `/c/zookeeper/lock?key=${encodeURIComponent(dir)}`,
  );
});
