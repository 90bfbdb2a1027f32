// The browser figures of issue 13, in Debian's Chromium driven by Playwright, against the real
// product server (`next start`) following a default redis-server that holds 100k locks:
//   - first-load JS per page: every script the page fetched while loading, gzipped here;
//   - lock table scroll: requestAnimationFrame deltas while the table scrolls through rows;
//   - filter-as-you-type: keypress in the key filter → the table showing that filter's answer.
// Runnable alone: `npx tsx scripts/bench/browser.ts [locks]`; exported for scripts/bench/run.ts.

import zlib from "node:zlib";
import Redis from "ioredis";
import { chromium, type Browser, type Page } from "playwright";
import { startRedis } from "../servers/redis";
import { formatCount } from "../../components/format";
import { CONNECTION, ensureBuild, startProduct } from "./product";
import { redisVersion, writeLocks } from "./redis-data";
import { percentile } from "./stats";
import { loadavg, printFigures } from "./report";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Pages whose first load is measured ({conn} and {key} filled in). */
export const PAGES = ["/", "/c/{conn}", "/c/{conn}/waits", "/c/{conn}/lock?key={key}", "/c/{conn}/settings", "/contention", "/audit", "/alerts"];
export const SETTLE_MS = 2_000;
export const SCROLL = { seconds: 5, pxPerFrame: 140 };
/** Typed one character at a time; each keystroke waits for its answer (or ANSWER_TIMEOUT_MS). */
export const TYPED = "payments:lock:1";
export const ANSWER_TIMEOUT_MS = 5_000;
const VIEWPORT = { width: 1400, height: 900 };

export interface PageJs {
  path: string;
  scripts: number;
  rawBytes: number;
  gzipBytes: number;
  /** bytes on the wire as the browser received them (content-encoding applied), where known */
  wireBytes: number;
  encodings: string[];
}

export interface BrowserFigures {
  redis: string;
  chromium: string;
  build: string;
  locks: number;
  pages: PageJs[];
  scroll: {
    frames: number;
    p50: number;
    p95: number;
    max: number;
    rows: number;
    longTasks: number;
    longTaskMs: number;
    /** every 10th frame: how many showed placeholder rows (their page not loaded yet) */
    sampledFrames: number;
    framesWithPlaceholders: number;
    load: string;
  };
  filter: {
    keystrokes: Array<{ typed: string; total: number; ms: number; toUrlMs: number; toTableMs: number }>;
    p50: number;
    p95: number;
    max: number;
    /** keystrokes with no answer in time, and what the page showed instead */
    unanswered: Array<{ typed: string; seen: Record<string, unknown> }>;
    load: string;
  };
}

async function missingChromium(): Promise<never> {
  throw new Error(`no Chromium at ${CHROMIUM}: install it with \`sudo apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
}

async function pageJs(browser: Browser, base: string, path: string): Promise<PageJs> {
  // A fresh context per page: an empty cache, as a first visit.
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  try {
    const page = await ctx.newPage();
    const bodies: Array<Promise<{ url: string; raw: Buffer; wire: number; encoding: string }>> = [];
    page.on("response", (res) => {
      if (res.request().resourceType() !== "script") return;
      bodies.push(
        (async () => ({
          url: res.url(),
          raw: await res.body(),
          wire: (await res.request().sizes()).responseBodySize,
          encoding: (await res.allHeaders())["content-encoding"] ?? "identity",
        }))(),
      );
    });
    const res = await page.goto(base + path, { waitUntil: "load" });
    if (!res || res.status() >= 400) throw new Error(`GET ${path}: HTTP ${res?.status()}`);
    // Chunks a page loads right after its load event (client components, lazy parts) count too.
    await page.waitForTimeout(SETTLE_MS);
    const seen = new Map<string, { raw: Buffer; wire: number; encoding: string }>();
    for (const b of await Promise.all(bodies)) seen.set(b.url, b);
    const list = [...seen.values()];
    return {
      path,
      scripts: list.length,
      rawBytes: list.reduce((a, b) => a + b.raw.length, 0),
      gzipBytes: list.reduce((a, b) => a + zlib.gzipSync(b.raw).length, 0),
      wireBytes: list.reduce((a, b) => a + b.wire, 0),
      encodings: [...new Set(list.map((b) => b.encoding))],
    };
  } finally {
    await ctx.close();
  }
}

async function openTable(browser: Browser, base: string, total: number): Promise<Page> {
  const ctx = await browser.newContext({ viewport: VIEWPORT });
  // tsx (esbuild keepNames) wraps the bench's named inner functions in __name(); the functions
  // passed to page.evaluate carry that call into the page, which has no such helper.
  await ctx.addInitScript({ content: "globalThis.__name = (f) => f;" });
  const page = await ctx.newPage();
  await page.goto(`${base}/c/${CONNECTION}`, { waitUntil: "load" });
  await page.waitForFunction(
    (want) =>
      document.querySelector('[data-testid="lock-total"]')?.textContent === want &&
      document.querySelectorAll('[data-testid="lock-table"] [role="row"]').length > 10,
    formatCount(total),
    { timeout: 60_000 },
  );
  return page;
}

/** rAF deltas while the table's scroller moves pxPerFrame every frame for `seconds`. */
async function scrollFrames(page: Page): Promise<BrowserFigures["scroll"]> {
  const r = await page.evaluate(async ({ seconds, pxPerFrame }) => {
    const el = document.querySelector('[data-testid="lock-table"]') as HTMLElement;
    const long: number[] = [];
    const obs = new PerformanceObserver((list) => list.getEntries().forEach((e) => long.push(e.duration)));
    try {
      obs.observe({ type: "longtask", buffered: false });
    } catch {
      // no Long Tasks API: reported as 0
    }
    const deltas: number[] = [];
    let sampled = 0;
    let blank = 0;
    const top0 = el.scrollTop;
    await new Promise<void>((done) => {
      let prev = 0;
      const end = performance.now() + seconds * 1000;
      const frame = (t: number) => {
        if (prev) deltas.push(t - prev);
        prev = t;
        if (t >= end) return done();
        // Every 10th frame: are placeholder rows (page not loaded yet) on screen?
        if (deltas.length % 10 === 0) {
          sampled++;
          if (el.querySelector('[role="row"][aria-busy="true"]')) blank++;
        }
        el.scrollTop += pxPerFrame;
        requestAnimationFrame(frame);
      };
      requestAnimationFrame(frame);
    });
    obs.disconnect();
    return { deltas, px: el.scrollTop - top0, long, sampled, blank };
  }, SCROLL);
  const rowPx = 28;
  return {
    frames: r.deltas.length,
    p50: percentile(r.deltas, 50),
    p95: percentile(r.deltas, 95),
    max: Math.max(...r.deltas),
    rows: Math.round(r.px / rowPx),
    longTasks: r.long.length,
    longTaskMs: r.long.reduce((a, b) => a + b, 0),
    sampledFrames: r.sampled,
    framesWithPlaceholders: r.blank,
    load: loadavg(),
  };
}

interface Answer {
  /** keydown → answer frame, or null when there was no answer within ANSWER_TIMEOUT_MS */
  ms: number | null;
  toUrlMs: number;
  /** keydown → the table alone showing the answer (the URL may follow later), -1 if never seen */
  toTableMs: number;
  /** what the page showed when it gave up */
  seen?: Record<string, unknown>;
}

/**
 * Waits for the answer to `typed`: the first animation frame in which the input holds the text,
 * the URL's q is it, the total shown is the server's count for it, nothing is being read, and the
 * first row contains it. Timed from keydown number `n` (event.timeStamp), when given.
 */
function answer(page: Page, typed: string, total: number, n: number | null): Promise<Answer> {
  return page.evaluate(
    ({ n, typed, want, timeoutMs }) =>
      new Promise<Answer>((resolve) => {
        const input = document.querySelector('[data-testid="filter-q"]') as HTMLInputElement;
        const downs = (window as unknown as { __downs: number[] }).__downs;
        let toUrl = -1;
        let toTable = -1;
        const started = performance.now();
        const state = () => ({
          input: input.value,
          q: new URLSearchParams(location.search).get("q"),
          total: document.querySelector('[data-testid="lock-total"]')?.textContent,
          reading: !document.querySelector('span[title="reading"]')?.classList.contains("invisible"),
          firstRow: document.querySelector('[data-testid="lock-table"] [role="row"][aria-rowindex="2"]')?.textContent ?? "",
        });
        const check = () => {
          const now = performance.now();
          const down = n === null ? started : downs[n];
          if (down !== undefined) {
            const s = state();
            if (toUrl < 0 && s.q === typed) toUrl = now - down;
            const table = s.input === typed && s.total === want && !s.reading && (want === "0" || s.firstRow.toLowerCase().includes(typed.toLowerCase()));
            if (toTable < 0 && table) toTable = now - down;
            if (table && s.q === typed) return resolve({ ms: now - down, toUrlMs: toUrl, toTableMs: toTable });
          }
          if (now - started > timeoutMs) {
            const s = state();
            return resolve({ ms: null, toUrlMs: toUrl, toTableMs: toTable, seen: { ...s, firstRow: s.firstRow.slice(0, 60), want } });
          }
          requestAnimationFrame(check);
        };
        check();
      }),
    { n, typed, want: formatCount(total), timeoutMs: ANSWER_TIMEOUT_MS },
  );
}

async function filterAsYouType(page: Page, base: string): Promise<BrowserFigures["filter"]> {
  const expected: number[] = [];
  for (let i = 1; i <= TYPED.length; i++) {
    const res = await fetch(`${base}/api/connections/${CONNECTION}/locks?limit=1&q=${encodeURIComponent(TYPED.slice(0, i))}`);
    expected.push(((await res.json()) as { total: number }).total);
  }
  const input = '[data-testid="filter-q"]';
  await page.click(input);
  // Every keydown's event.timeStamp, recorded by the page itself from the first keystroke on.
  await page.evaluate((sel) => {
    const downs: number[] = [];
    (window as unknown as { __downs: number[] }).__downs = downs;
    document.querySelector(sel)!.addEventListener("keydown", (e) => downs.push(e.timeStamp), { capture: true });
  }, input);
  const keystrokes: BrowserFigures["filter"]["keystrokes"] = [];
  const unanswered: BrowserFigures["filter"]["unanswered"] = [];
  for (let i = 1; i <= TYPED.length; i++) {
    const typed = TYPED.slice(0, i);
    await page.keyboard.type(typed.at(-1)!);
    const r = await answer(page, typed, expected[i - 1], i - 1);
    if (r.ms !== null) {
      keystrokes.push({ typed, total: expected[i - 1], ms: r.ms, toUrlMs: r.toUrlMs, toTableMs: r.toTableMs });
      continue;
    }
    unanswered.push({ typed, seen: r.seen! });
    console.log(`  no answer for "${typed}" within ${ANSWER_TIMEOUT_MS} ms; the page shows ${JSON.stringify(r.seen)}`);
    // Put the box back on the text typed so far (not timed), so one lost key does not fail the rest.
    await page.fill(input, typed);
    if ((await answer(page, typed, expected[i - 1], null)).ms === null) throw new Error(`the table never showed the answer for "${typed}"`);
  }
  const times = keystrokes.map((k) => k.ms);
  return { keystrokes, p50: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times), unanswered, load: loadavg() };
}

export async function benchBrowser(o: { locks: number; log: (line: string) => void }): Promise<BrowserFigures> {
  const fs = await import("node:fs");
  if (!fs.existsSync(CHROMIUM)) await missingChromium();
  const build = await ensureBuild(process.env.BENCH_REBUILD === "1");
  o.log(build);
  const server = await startRedis();
  const redis = new Redis(server.url);
  let ui: Awaited<ReturnType<typeof startProduct>> | null = null;
  let browser: Browser | null = null;
  try {
    const version = await redisVersion(redis);
    await writeLocks(redis, o.locks, [600, 1200]);
    ui = await startProduct(server.url);
    await ui.waitLive(o.locks, 180_000);
    const base = ui.server!.url;
    o.log(`console live with ${o.locks} locks`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
    const key = (await redis.scan("0", "MATCH", "*:lock:*", "COUNT", 100))[1][0];
    const pages: PageJs[] = [];
    for (const p of PAGES) {
      const path = p.replace("{conn}", CONNECTION).replace("{key}", encodeURIComponent(key));
      const js = await pageJs(browser, base, path);
      o.log(
        `${path}: ${js.scripts} scripts, ${(js.gzipBytes / 1000).toFixed(1)} kB gzip (${(js.rawBytes / 1000).toFixed(1)} kB raw, ${(js.wireBytes / 1000).toFixed(1)} kB on the wire, ${js.encodings.join("/")})`,
      );
      pages.push(js);
    }
    const tablePage = await openTable(browser, base, o.locks);
    const scroll = await scrollFrames(tablePage);
    o.log(`scroll: ${JSON.stringify(scroll)}`);
    await tablePage.context().close();
    const filterPage = await openTable(browser, base, o.locks);
    const filter = await filterAsYouType(filterPage, base);
    o.log(`filter: ${JSON.stringify(filter)}`);
    await filterPage.context().close();
    return { redis: version, chromium: browser.version(), build, locks: o.locks, pages, scroll, filter };
  } finally {
    await browser?.close();
    await ui?.stop();
    redis.disconnect();
    await server.stop();
  }
}

if (require.main === module) {
  printFigures(benchBrowser({ locks: Number(process.argv[2] ?? 100_000), log: console.log }));
}
