// Access control on a console with users (the second server started by scripts/e2e.ts).
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import Redis from "ioredis";
import { randomBytes } from "node:crypto";

const base = process.env.E2E_SECURE_URL!;
const redisUrl = process.env.E2E_SECURE_REDIS_URL!;
test.use({ baseURL: base });

const csrf = { "content-type": "application/json", "x-lockdeck-csrf": "1" };
let redis: Redis;
test.beforeAll(() => {
  redis = new Redis(redisUrl);
});
test.afterAll(() => redis.disconnect());

async function signIn(request: APIRequestContext, name: string, password: string) {
  const res = await request.post("/api/auth/login", { headers: csrf, data: { name, password } });
  expect(res.status(), `sign in as ${name}`).toBe(200);
}

async function newLock(request: APIRequestContext, prefix: string) {
  const key = `${prefix}:lock:${Date.now()}:${randomBytes(3).toString("hex")}`;
  const value = randomBytes(16).toString("hex");
  await redis.set(key, value, "PX", 120_000);
  let lock: { fence: string } | null = null;
  await expect
    .poll(async () => {
      const res = await request.get(`/api/connections/vault/lock?key=${encodeURIComponent(key)}`);
      if (res.ok()) lock = (await res.json()).lock;
      return res.status();
    })
    .toBe(200);
  return { key, value, fence: lock!.fence };
}

async function evalCalls(): Promise<number> {
  const stats = await redis.info("commandstats");
  return [...stats.matchAll(/cmdstat_(?:eval|evalsha):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

test("nobody signed in gets 401 everywhere, whatever middleware headers they send", async ({ request }) => {
  for (const path of ["/api/connections", "/api/connections/vault/locks", "/api/audit", "/api/events"]) {
    const variants: Array<Record<string, string>> = [
      {},
      { "x-middleware-subrequest": "middleware:middleware:middleware:middleware:middleware" },
      { "x-middleware-subrequest": "src/middleware" },
    ];
    for (const extra of variants) {
      const res = await request.get(path, { headers: extra });
      expect(res.status(), `${path} ${JSON.stringify(extra)}`).toBe(401);
    }
  }
  const who = await (await request.get("/api/whoami")).json();
  expect(who).toMatchObject({ actor: null, signInRequired: true, canRelease: false });
});

test("sign-in attempts are rate-limited and audited", async ({ request }) => {
  for (let i = 0; i < 5; i++) {
    const res = await request.post("/api/auth/login", { headers: csrf, data: { name: "mallory", password: `guess-${i}` } });
    expect(res.status()).toBe(401);
  }
  const limited = await request.post("/api/auth/login", { headers: csrf, data: { name: "mallory", password: "guess-6" } });
  expect(limited.status()).toBe(429);
  await signIn(request, "ana", "ana-pass-1");
  const { entries } = await (await request.get("/api/audit")).json();
  const mallory = entries.filter((e: { actor: string; action: string }) => e.actor === "mallory" && e.action === "login");
  expect(mallory.map((e: { outcome: string }) => e.outcome).sort()).toEqual(["denied", "denied", "denied", "denied", "denied", "rate_limited"]);
});

test("a viewer sees no release button, and a direct POST is refused before any store call", async ({ page }) => {
  await signIn(page.request, "vic", "vic-pass-1");
  const lock = await newLock(page.request, "viewer");
  await page.goto(`/c/vault/lock?key=${encodeURIComponent(lock.key)}`);
  await expect(page.getByTestId("holder-id").first()).toBeVisible();
  await expect(page.getByTestId("release-button")).toHaveCount(0);
  const before = await evalCalls();
  const res = await page.request.post("/api/connections/vault/lock/release", {
    headers: csrf,
    data: { key: lock.key, fence: lock.fence, reason: "viewer tries" },
  });
  expect(res.status()).toBe(403);
  expect(await evalCalls()).toBe(before);
  expect(await redis.get(lock.key)).toBe(lock.value);
  // The attempt is in the trail: who, what they aimed at, and that it was denied.
  const { entries } = await (await page.request.get(`/api/audit?key=${encodeURIComponent(lock.key)}`)).json();
  expect(entries).toEqual([
    expect.objectContaining({
      action: "release",
      phase: "outcome",
      outcome: "denied",
      actor: "vic",
      role: "viewer",
      reason: "viewer tries",
      detail: "viewer may not release",
    }),
  ]);
});

test("a release refused at the door (foreign origin, body) is audited when the asker is known, not when anonymous", async ({ request, playwright }) => {
  await signIn(request, "ana", "ana-pass-1");
  const lock = await newLock(request, "door");
  const reason = `door ${randomBytes(3).toString("hex")}`;
  const foreign = await request.post("/api/connections/vault/lock/release", {
    headers: { ...csrf, origin: "http://evil.example" },
    data: { key: lock.key, fence: lock.fence, reason },
  });
  expect(foreign.status()).toBe(403);
  const extra = await request.post("/api/connections/vault/lock/release", { headers: csrf, data: { key: lock.key, fence: lock.fence, reason, extra: 1 } });
  expect(extra.status()).toBe(400);
  const anonymous = await playwright.request.newContext({ baseURL: base });
  try {
    const res = await anonymous.post("/api/connections/vault/lock/release", { headers: csrf, data: { key: lock.key, fence: lock.fence, reason } });
    expect(res.status()).toBe(401);
  } finally {
    await anonymous.dispose();
  }
  expect(await redis.get(lock.key)).toBe(lock.value);
  const { entries } = await (await request.get(`/api/audit?connection=vault&limit=5000`)).json();
  const denied = entries.filter((e: { actor: string; outcome?: string; key: string }) => e.actor === "ana" && e.key === lock.key);
  expect(denied).toEqual([
    // Newest first. The body with an unknown field: refused, with the key and reason it names.
    expect.objectContaining({ action: "release", outcome: "refused", key: lock.key, reason, detail: expect.stringMatching(/extra/) }),
    expect.objectContaining({
      action: "release",
      outcome: "denied",
      key: lock.key,
      reason,
      detail: expect.stringMatching(/^origin http:\/\/evil\.example is not this site/),
    }),
  ]);
  // The anonymous attempt left no line.
  expect(entries.filter((e: { reason: string }) => e.reason === reason)).toHaveLength(2);
});

async function signInPage(page: Page, name: string, password: string) {
  await page.goto("/login");
  await page.getByTestId("login-name").fill(name);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await expect(page).toHaveURL(`${base}/`);
}

test("an operator's release through the UI is audited with the right actor and reason", async ({ page }) => {
  await signInPage(page, "ana", "ana-pass-1");
  const lock = await newLock(page.request, "operator");
  await page.goto(`/c/vault/lock?key=${encodeURIComponent(lock.key)}`);
  await page.getByTestId("release-button").click();
  await page.getByTestId("release-reason").fill("stuck after deploy, INC-4242");
  await page.getByTestId("release-confirm").click();
  await expect(page.getByTestId("release-result")).toContainText(/released/i);
  expect(await redis.exists(lock.key)).toBe(0);
  const { entries, chainBrokenAt } = await (await page.request.get(`/api/audit?key=${encodeURIComponent(lock.key)}`)).json();
  expect(chainBrokenAt).toBeNull();
  expect(
    entries.map((e: { phase: string; actor: string; role: string; reason: string; outcome?: string }) => [
      e.phase,
      e.actor,
      e.role,
      e.reason,
      e.outcome ?? null,
    ]),
  ).toEqual([
    ["outcome", "ana", "operator", "stuck after deploy, INC-4242", "applied"],
    ["intent", "ana", "operator", "stuck after deploy, INC-4242", null],
  ]);
});

test("releases are rate-limited per operator (429), and the refusal is audited", async ({ request }) => {
  await signIn(request, "bo", "bo-pass-1");
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const lock = await newLock(request, `rl${i}`);
    const res = await request.post("/api/connections/vault/lock/release", { headers: csrf, data: { key: lock.key, fence: lock.fence, reason: `burst ${i}` } });
    statuses.push(res.status());
  }
  expect(statuses).toEqual([200, 200, 200, 429]);
  const { entries } = await (await request.get("/api/audit?connection=vault")).json();
  expect(entries.find((e: { actor: string; outcome?: string }) => e.actor === "bo" && e.outcome === "rate_limited")).toBeTruthy();
});
