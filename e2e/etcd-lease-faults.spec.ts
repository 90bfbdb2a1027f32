// etcd's lease calls failing while its keys still read (a lost reply on the console's lease
// connection, through the test rig's TCP proxy), as on-call sees it in the browser: the lock's
// TTL says "unknown" — never "∞ no expiry", a lease always runs out — and once the lease answers
// again the store's TTL is back on its own, without a re-list.
import { expect, test } from "@playwright/test";
import type { HoldProcess } from "../scripts/capture/hold";
import { etcdctlLock, interrupt } from "../scripts/capture/etcd/hold";
import { startConsole, type Console } from "../scripts/servers/console";
import { startFaultProxy, type FaultProxy } from "../scripts/servers/fault-proxy";
import { encodeLeaseTimeToLiveRequest } from "../lib/stores/etcd/wire";

const endpoint = process.env.E2E_ETCD_ENDPOINT!;
let proxy: FaultProxy;
let lockdeck: Console | undefined;
let holder: HoldProcess | undefined;

test.beforeAll(async () => {
  proxy = await startFaultProxy(Number(new URL(endpoint).port));
});
test.afterAll(async () => {
  await lockdeck?.stop();
  if (holder) await interrupt(holder).catch(() => holder?.kill());
  await proxy?.close();
});

test("a lease whose TTL cannot be read shows 'TTL unknown', then the store's TTL once the lease answers again", async ({ page }) => {
  const name = `lf/job-${Date.now()}`;
  holder = etcdctlLock(endpoint, name, 60);
  await expect.poll(() => holder!.lines().some((l) => l.startsWith(`${name}/`)), { timeout: 15_000, message: "etcdctl holds the lock" }).toBe(true);
  const leaseHex = holder
    .lines()
    .find((l) => l.startsWith(`${name}/`))!
    .slice(name.length + 1);

  // The console's first LeaseTimeToLive for this lease goes out and is never answered; 12 s
  // later that connection is reset, and lease calls answer again.
  const lost = proxy.dropReplyAfter(encodeLeaseTimeToLiveRequest(BigInt(`0x${leaseHex}`).toString(), false), { resetAfterMs: 12_000 });
  lockdeck = await startConsole({
    config: { connections: [{ id: "e", kind: "etcd", endpoints: [proxy.endpoint], prefixes: ["lf/"], requestTimeoutMs: 1_500, leaseCheckMs: 500 }] },
  });
  await page.goto(`${lockdeck.url}/c/e`);
  const row = page.locator(`[data-testid="lock-row"][data-key="${name}/"]`);
  const ttl = row.getByTestId("lock-ttl");
  await expect(ttl).toHaveText("TTL unknown", { timeout: 15_000 });
  await expect(ttl).toHaveAttribute("data-ttl-source", "lease-unknown");
  await expect(row).not.toContainText("no expiry");
  await lost;

  // Back: the store's own TTL (up to 60 s), no longer unknown.
  await expect(ttl).not.toHaveText("TTL unknown", { timeout: 25_000 });
  const shown = Number(await ttl.getAttribute("data-ttl-ms"));
  expect(shown).toBeGreaterThan(0);
  expect(shown).toBeLessThanOrEqual(60_000);
});
