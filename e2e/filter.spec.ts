// The lock table's key filter in a real browser, on the e2e Redis: every key typed is kept, the
// table shows exactly the server's answer for the text in the box, an answer for an older text
// never replaces a newer one, and the URL follows (and, changed from elsewhere, leads).
import { expect, test, type Page } from "@playwright/test";
import Redis from "ioredis";

const stamp = Date.now();
const prefix = `e2e:lock:filter:${stamp}:`;
const names = ["alpha:1", "alpha:12", "alpha:123", "alpha:2", "beta:12"];
let redis: Redis;

test.beforeAll(async () => {
  redis = new Redis(process.env.E2E_REDIS_URL!);
  for (const n of names) await redis.set(prefix + n, `tok-${stamp}-${n}`, "PX", 300_000);
});
test.afterAll(async () => {
  await redis.del(...names.map((n) => prefix + n));
  redis.disconnect();
});

const box = (page: Page) => page.getByTestId("filter-q");
const qOf = (page: Page) => new URL(page.url()).searchParams.get("q") ?? "";

/** The table shows these keys (in key order) as its whole answer, nothing being read. */
async function expectAnswer(page: Page, keys: string[]) {
  await expect(page.getByTestId("lock-total")).toHaveText(String(keys.length));
  await expect(page.locator('span[title="reading"]')).toHaveClass(/invisible/);
  await expect(page.getByTestId("lock-row")).toHaveCount(keys.length);
  expect(await page.getByTestId("lock-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-key")))).toEqual(keys);
}

async function openTable(page: Page) {
  await page.goto(`/c/redis?sort=key&dir=asc&q=${encodeURIComponent(prefix)}`);
  await expectAnswer(
    page,
    names.map((n) => prefix + n),
  );
  await box(page).click();
  await page.keyboard.press("End");
}

test("a key typed the moment the URL takes the previous text is kept, and the table answers the whole text", async ({ page }) => {
  await openTable(page);
  // When the URL takes a text (history.replaceState, QUIET_MS after the key), type the next key at
  // once, before the router has followed: the router catching up must not put the older text back.
  const rest = "lpha:12";
  await page.evaluate(
    (keys) => {
      const input = document.querySelector('[data-testid="filter-q"]') as HTMLInputElement;
      const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!;
      const replace = history.replaceState;
      let last = new URLSearchParams(location.search).get("q");
      history.replaceState = function (...args: Parameters<History["replaceState"]>) {
        const out = replace.apply(this, args);
        const q = new URL(String(args[2] ?? location.href), location.href).searchParams.get("q");
        if (q !== last && keys.length) {
          last = q;
          const key = keys.shift()!;
          queueMicrotask(() => {
            setValue.call(input, input.value + key);
            input.dispatchEvent(new Event("input", { bubbles: true }));
          });
        }
        return out;
      };
    },
    [...rest],
  );
  await page.keyboard.type("a");
  const text = `${prefix}alpha:12`;
  await expect(box(page)).toHaveValue(text);
  await expect.poll(() => qOf(page)).toBe(text);
  await expectAnswer(page, [`${prefix}alpha:12`, `${prefix}alpha:123`]);
  await expect(box(page)).toHaveValue(text);
});

test("an answer for an older text never replaces the newer one: its request is cancelled, the table shows the newer text's", async ({ page }) => {
  await openTable(page);
  const older = `${prefix}alpha:1`;
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let heldSeen = false;
  await page.route(
    (url) => url.pathname === "/api/connections/redis/locks" && url.searchParams.get("q") === older,
    async (route) => {
      heldSeen = true;
      await held;
      await route.continue().catch(() => {
        // the page already gave up on it
      });
    },
  );
  const cancelled = page.waitForEvent("requestfailed", { predicate: (r) => new URL(r.url()).searchParams.get("q") === older, timeout: 10_000 });
  await page.keyboard.type("alpha:1");
  await expect.poll(() => heldSeen).toBe(true);
  await page.keyboard.type("2");
  await expectAnswer(page, [`${prefix}alpha:12`, `${prefix}alpha:123`]);
  expect((await cancelled).failure()?.errorText).toMatch(/abort/i);
  release();
  await page.unroute("**/api/connections/redis/locks**");
  // Whatever became of the held request, the table still answers the text in the box.
  await expect(box(page)).toHaveValue(`${prefix}alpha:12`);
  await expectAnswer(page, [`${prefix}alpha:12`, `${prefix}alpha:123`]);
});

test("the URL follows the typed text, and a change of the URL from elsewhere (back) puts its text in the box", async ({ page }) => {
  await openTable(page);
  await page.keyboard.type("beta");
  await expect.poll(() => qOf(page)).toBe(`${prefix}beta`);
  await expectAnswer(page, [`${prefix}beta:12`]);
  // A new history entry (the state toggle), then more typing (replacing that entry's q).
  await page.getByTestId("filter-status-held").click();
  await box(page).click();
  await page.keyboard.press("End");
  await page.keyboard.type(":12");
  await expect.poll(() => qOf(page)).toBe(`${prefix}beta:12`);
  await page.goBack();
  await expect(box(page)).toHaveValue(`${prefix}beta`);
  await expect.poll(() => qOf(page)).toBe(`${prefix}beta`);
  await expectAnswer(page, [`${prefix}beta:12`]);
});

// The keyboard selection is a lock, not a row number: a lock appearing above the selected one
// moves the rows, and the highlight (and Enter) stay with the lock the operator chose. (Old code:
// the highlight moved to the lock now in that row, and Enter opened it.)
test("a lock appearing above the selected row: the selection stays on the chosen lock, and Enter opens it", async ({ page }) => {
  const p = `${prefix}sel:`;
  for (const k of ["b", "c", "d"]) await redis.set(p + k, `tok-${stamp}-sel-${k}`, "PX", 300_000);
  try {
    await page.goto(`/c/redis?q=${encodeURIComponent(p)}&sort=key&dir=asc`);
    await expectAnswer(page, [p + "b", p + "c", p + "d"]);
    await page.keyboard.press("j");
    await page.keyboard.press("j");
    const selected = page.locator('[data-testid="lock-row"][aria-selected="true"]');
    await expect(selected).toHaveAttribute("data-key", p + "c");
    await redis.set(p + "a", `tok-${stamp}-sel-a`, "PX", 300_000);
    await expectAnswer(page, [p + "a", p + "b", p + "c", p + "d"]);
    await expect(selected).toHaveAttribute("data-key", p + "c");
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(`/c/redis/lock?key=${encodeURIComponent(p + "c")}`);
  } finally {
    await redis.del(...["a", "b", "c", "d"].map((k) => p + k));
  }
});
