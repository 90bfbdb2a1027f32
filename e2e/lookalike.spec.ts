// Keys and holder values that look like others (browser audit 4, F1, F4, F5, F8), on real
// Redis: six keys that a page would show as the same "…:orders" (plain, a zero-width space, a
// trailing space, a trailing NBSP, a Cyrillic "о", an RLO) must read differently in the table,
// on the lock page and in the release dialog, with a warning naming the odd characters; a holder
// value written backwards behind an RLO must not read as "free — released"; a read lock with
// three readers says so in the dialog's title; and a reason of zero-width spaces is no reason.
import { expect, test, type Locator, type Page } from "@playwright/test";
import Redis from "ioredis";

const stamp = Date.now();
const prefix = `e2e:lock:lookalike-${stamp}:`;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
test.afterEach(async () => {
  // Last in, first out: the keys go before the client that deletes them.
  for (const c of cleanups.splice(0).reverse()) await c();
});

function redis(): Redis {
  const r = new Redis(process.env.E2E_REDIS_URL!);
  cleanups.push(() => r.disconnect());
  return r;
}

const lockPage = (key: string) => `/c/redis/lock?key=${encodeURIComponent(key)}`;

// Letters a reader cannot tell from Latin ones (the ones these tests use).
const SKELETON: Record<string, string> = { "\u043e": "o", "\u0430": "a", "\u0435": "e", "\u0440": "p", "\u0441": "c", "\u03bf": "o" };

/**
 * What a person sees in an element: the characters that take up room, in the order they are
 * drawn (left to right, line by line, so a bidi override's reordering counts), unusual spaces
 * as spaces, runs of spaces as one, look-alike letters as the Latin ones.
 */
async function seen(el: Locator): Promise<string> {
  const drawn = await el.evaluate((root) => {
    const chars: { c: string; x: number; y: number }[] = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent ?? "";
      let i = 0;
      for (const c of Array.from(text)) {
        const range = document.createRange();
        range.setStart(n, i);
        range.setEnd(n, i + c.length);
        i += c.length;
        // One glyph may come back as several boxes (a cut cell): its first box with a width counts.
        const box = Array.from(range.getClientRects()).find((r) => r.width > 0.5);
        if (box) chars.push({ c, x: box.left + box.width / 2, y: box.top + box.height / 2 });
      }
    }
    // Lines: characters whose middles are within 6 px of the line's first one; each read left to
    // right, and a wrapped line goes on where the last one ended (a key wraps anywhere).
    chars.sort((a, b) => a.y - b.y);
    const lines: (typeof chars)[] = [];
    for (const c of chars) {
      const line = lines.at(-1);
      if (line && c.y - line[0].y <= 6) line.push(c);
      else lines.push([c]);
    }
    return lines
      .map((l) =>
        l
          .sort((a, b) => a.x - b.x)
          .map((c) => c.c)
          .join(""),
      )
      .join("");
  });
  return Array.from(drawn.replace(/[\u00a0\u2000-\u200a\u202f\u3000]/g, " "))
    .map((c) => SKELETON[c] ?? c)
    .join("")
    .replace(/ +/g, " ")
    .trim();
}

test("keys that differ only by invisible, space, look-alike or bidi characters read differently everywhere, and are marked", async ({ page }) => {
  test.setTimeout(120_000);
  const r = redis();
  const keys = {
    plain: `${prefix}orders`,
    zwsp: `${prefix}orders\u200b`,
    trailing: `${prefix}orders `,
    nbsp: `${prefix}orders\u00a0`,
    cyrillic: `${prefix}\u043erders`,
    rlo: `${prefix}\u202esredro`,
  };
  const marks: Record<keyof typeof keys, string | null> = {
    plain: null,
    zwsp: "U+200B",
    trailing: "U+0020",
    nbsp: "U+00A0",
    cyrillic: "U+043E",
    rlo: "U+202E",
  };
  // One holder for all: only the key can tell them apart.
  for (const k of Object.values(keys)) await r.set(k, `e2e-lookalike-holder-${stamp}`, "PX", 600_000);
  cleanups.push(() => r.del(...Object.values(keys)));

  // The table: six rows, six different texts.
  await page.goto(`/c/redis?sort=key&dir=asc&q=${encodeURIComponent(prefix)}`);
  await expect(page.getByTestId("lock-total")).toHaveText("6");
  await expect(page.getByTestId("lock-row")).toHaveCount(6);
  const rows: string[] = [];
  for (const row of await page.getByTestId("lock-row").all()) rows.push(await seen(row.locator('[role="gridcell"]').nth(1)));
  expect(new Set(rows).size, `table rows read ${JSON.stringify(rows)}`).toBe(6);

  // The lock page's heading and the dialog's title: six different texts, and the odd ones warned about.
  const headings: string[] = [];
  const titles: string[] = [];
  for (const [name, key] of Object.entries(keys) as [keyof typeof keys, string][]) {
    await page.goto(lockPage(key));
    await expect(page.getByTestId("holder-row")).toBeVisible();
    headings.push(await seen(page.locator("article header h1")));
    const onPage = page.locator("article header").getByTestId("key-lookalike");
    if (marks[name]) await expect(onPage, name).toContainText(marks[name]!);
    else await expect(onPage, name).toHaveCount(0);

    await page.getByTestId("release-button").click();
    const dialog = page.getByTestId("release-dialog");
    await expect(dialog).toBeVisible();
    titles.push(await seen(page.getByTestId("release-title").locator(".font-mono").first()));
    if (marks[name]) await expect(dialog.getByTestId("key-lookalike"), name).toContainText(marks[name]!);
    else await expect(dialog.getByTestId("key-lookalike"), name).toHaveCount(0);
    await page.getByTestId("release-cancel").click();
  }
  expect(new Set(headings).size, `lock page headings read ${JSON.stringify(headings)}`).toBe(6);
  expect(new Set(titles).size, `dialog titles read ${JSON.stringify(titles)}`).toBe(6);
  // The RLO does not reorder the rest of the title: it still starts with "Release" and the key reads left to right.
  expect(titles[5]).toMatch(/sredro$/);

  // Released through the dialog, the zero-width twin reads as such on the audit page too.
  await page.goto(lockPage(keys.zwsp));
  await page.getByTestId("release-button").click();
  await page.getByTestId("release-reason").fill("e2e: the zero-width twin");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toHaveAttribute("data-outcome", "released");
  expect(await r.exists(keys.plain)).toBe(1);
  await page.goto("/audit");
  const row = page.getByTestId("audit-row").filter({ hasText: "e2e: the zero-width twin" }).first();
  await expect(row).toBeVisible();
  expect(await seen(row.locator("td").nth(4))).toBe(`${prefix}orders\\u200b`);
});

test("a holder value written behind an RLO does not read as 'free — released'", async ({ page }) => {
  const r = redis();
  const key = `${prefix}billing`;
  await r.set(key, "\u202edesaeler \u2014 eerf", "PX", 600_000);
  cleanups.push(() => r.del(key));
  await page.goto(lockPage(key));
  const holder = page.getByTestId("holder-row");
  await expect(holder).toBeVisible();
  const shown = await seen(holder.getByTestId("holder-id"));
  expect(shown).not.toContain("free");
  expect(shown).toContain("desaeler");
  expect(await seen(page.locator("article"))).not.toMatch(/free . released/);

  await page.getByTestId("release-button").click();
  const title = await seen(page.getByTestId("release-title"));
  expect(title).toMatch(/^Release /);
  expect(title).not.toMatch(/free/);
});

test("the dialog's title says a read lock held by three readers has three holders", async ({ page }) => {
  const r = redis();
  const name = `${prefix}prices`;
  const ids = ["16f7d3f8-b0e9-4bc2-9b71-f51afdef4328:22", "16f7d3f8-b0e9-4bc2-9b71-f51afdef4328:23", "9a1c0c2e-1111-4bc2-9b71-f51afdef4328:7"];
  // A Redisson read lock, as Redisson 3.52 writes it (probe p10 of the audit).
  await r.hset(name, "mode", "read", ...ids.flatMap((i) => [i, "1"]));
  await r.pexpire(name, 600_000);
  for (const i of ids) await r.set(`{${name}}:${i}:rwlock_timeout:1`, "1", "PX", 600_000);
  cleanups.push(() => r.del(name, ...ids.map((i) => `{${name}}:${i}:rwlock_timeout:1`)));
  await page.goto(lockPage(name));
  await expect(page.getByTestId("holder-row")).toHaveCount(3);
  await page.getByTestId("release-button").click();
  await expect(page.getByTestId("release-title")).toContainText(/held by 3 holders: .+ and 2 more/);
});

async function fenceOf(page: Page, key: string): Promise<string> {
  let fence = "";
  await expect
    .poll(async () => {
      const res = await page.request.get(`/api/connections/redis/lock?key=${encodeURIComponent(key)}`);
      if (res.ok()) fence = ((await res.json()) as { lock: { fence: string } }).lock.fence;
      return res.status();
    })
    .toBe(200);
  return fence;
}

test("a reason of zero-width spaces is no reason: confirm stays disabled and the API refuses it, naming reason", async ({ page }) => {
  const r = redis();
  const key = `${prefix}reason`;
  await r.set(key, `e2e-reason-holder-${stamp}`, "PX", 600_000);
  cleanups.push(() => r.del(key));
  await page.goto(lockPage(key));
  await page.getByTestId("release-button").click();
  await page.getByTestId("release-reason").fill("\u200b\u200b\u200b");
  await expect(page.getByTestId("release-confirm")).toBeDisabled();
  await page.getByTestId("release-reason").fill("\u200b\u200b\u200bok");
  await expect(page.getByTestId("release-confirm")).toBeDisabled();
  await page.getByTestId("release-reason").fill("INC");
  await expect(page.getByTestId("release-confirm")).toBeEnabled();

  const res = await page.request.post("/api/connections/redis/lock/release", {
    headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" },
    data: { key, fence: await fenceOf(page, key), reason: "\u200b\u200b\u200b" },
  });
  expect(res.status()).toBe(400);
  const body = (await res.json()) as { error: { code: string; message: string }; field?: string };
  expect(body.field).toBe("reason");
  expect(body.error.message).toMatch(/^reason: /);
  expect(await r.exists(key)).toBe(1);
});
