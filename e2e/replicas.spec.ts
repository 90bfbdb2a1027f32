// Several replicas: two consoles A and B (the standalone server the deploy kit runs, on
// loopback) share one real PostgreSQL and watch one real Redis; each is ready with a view of its
// own (the follower waits for the reader's first read). What one replica does, the
// other knows: a release requested on A is listed and approved on B (in B's browser), and A's
// audit page shows B's approval; a sign-out on A ends the session on B; wrong sign-ins spread over A and B hit one limit.
// PostgreSQL stopped: the live view carries on, admin actions are refused with a clear message;
// started again: they are accepted, nothing lost, nothing restarted. Operations: /api/ready,
// and SIGTERM under 50 live event streams exits cleanly in < 10 s.
import { expect, test, type APIRequestContext, type Browser } from "@playwright/test";
import Redis from "ioredis";
import { randomBytes } from "node:crypto";
import { startPostgres, type PgRig } from "../test/support/postgres";
import { startRedis, type RedisServer } from "../scripts/servers/redis";
import { STANDALONE_START, startConsole, type Console } from "../scripts/servers/console";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { hashPassword } from "../lib/auth/scrypt.mjs";
import { fakeClock } from "../scripts/servers/faketime";
import type { ConnectionSummary } from "../lib/api/types";

test.describe.configure({ mode: "serial" });

const csrf = { "content-type": "application/json", "x-lockdeck-csrf": "1" };
const SECRET = { LOCKDECK_SESSION_SECRET: `replicas-e2e-${"k".repeat(40)}` };
// Sign-ins count against a small limit (3 per address and name): each test signs in its own users.
const PASSWORDS = { ana: "ana-pass-1", bo: "bo-pass-1", zed: "zed-pass-1", cy: "cy-pass-1", di: "di-pass-1" } as const;

let pg: PgRig;
let redisServer: RedisServer;
let redis: Redis;
let a: Console;
let b: Console;
let config: Record<string, unknown>;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  const rig = await startPostgres();
  if (!rig) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
  pg = rig;
  redisServer = await startRedis({ notifyKeyspaceEvents: "KA" });
  redis = new Redis(redisServer.url);
  const users = await Promise.all(
    (
      [
        ["ana", "operator"],
        ["bo", "operator"],
        ["zed", "viewer"],
        ["cy", "viewer"],
        ["di", "viewer"],
      ] as const
    ).map(async ([name, role]) => ({ name, role, passwordHash: await hashPassword(PASSWORDS[name]) })),
  );
  config = {
    connections: [{ id: "r", kind: "redis", url: redisServer.url, patterns: ["rep:*"], notifications: "use" }],
    auth: { users, allowedHosts: ["127.0.0.1"], loginRateLimit: { max: 3, perSeconds: 300, maxPerName: 6 }, releaseRateLimit: { max: 100, perSeconds: 60 } },
    twoPersonRule: { connections: ["r"], windowMinutes: 10 },
    postgres: { url: pg.url, statementTimeoutMs: 1_500 },
  };
  [a, b] = await Promise.all([startConsole({ config, env: SECRET, name: "replica-a" }), startConsole({ config, env: SECRET, name: "replica-b" })]);
  for (const r of [a, b]) await expect.poll(async () => (await fetch(`${r.url}/api/ready`)).status, { timeout: 30_000 }).toBe(200);
  // Ready means a view to show: the follower waited for the reader's first read, it did not
  // count "no replica has read this store yet" as a failed store (nor will a release see it stale).
  for (const r of [a, b]) {
    const ready = (await (await fetch(`${r.url}/api/ready`)).json()) as { connections: Array<{ state: string; message: string | null }> };
    expect(ready.connections.map((c) => `${c.state} ${c.message ?? ""}`.trim())).toEqual(["snapshot"]);
  }
});

test.afterAll(async () => {
  redis?.disconnect();
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await redisServer?.stop();
  await pg?.stop();
});

/** A signed-in API client on one replica. */
async function client(request: APIRequestContext, r: Console, name: keyof typeof PASSWORDS) {
  const res = await request.post(`${r.url}/api/auth/login`, { headers: csrf, data: { name, password: PASSWORDS[name] } });
  expect(res.status(), `sign in as ${name} on ${r.url}`).toBe(200);
  return /lockdeck_session=([^;]+)/.exec(res.headers()["set-cookie"] ?? "")![1];
}

const withCookie = (token: string) => ({ cookie: `lockdeck_session=${token}` });

async function whoami(r: Console, token: string): Promise<string | null> {
  return ((await (await fetch(`${r.url}/api/whoami`, { headers: withCookie(token) })).json()) as { actor: string | null }).actor;
}

async function newLock(r: Console, token: string): Promise<{ key: string; fence: string }> {
  const key = `rep:lock:${Date.now()}:${randomBytes(3).toString("hex")}`;
  await redis.set(key, randomBytes(16).toString("hex"), "PX", 300_000);
  let fence = "";
  await expect
    .poll(async () => {
      const res = await fetch(`${r.url}/api/connections/r/lock?key=${encodeURIComponent(key)}`, { headers: withCookie(token) });
      if (res.ok) fence = ((await res.json()) as { lock: { fence: string } }).lock.fence;
      return res.status;
    })
    .toBe(200);
  return { key, fence };
}

async function signInPage(browser: Browser, r: Console, name: keyof typeof PASSWORDS) {
  const page = await browser.newPage({ baseURL: r.url });
  await page.goto("/login");
  await page.getByTestId("login-name").fill(name);
  await page.getByTestId("login-password").fill(PASSWORDS[name]);
  await page.getByTestId("login-submit").click();
  await expect(page).not.toHaveURL(/\/login/);
  return page;
}

test("a release requested on A is listed on B and approved there, in B's browser", async ({ request, browser }) => {
  const ana = await client(request, a, "ana");
  const lock = await newLock(a, ana);
  const asked = await request.post(`${a.url}/api/connections/r/lock/release`, {
    headers: { ...csrf, ...withCookie(ana) },
    data: { key: lock.key, fence: lock.fence, reason: "stale after a deploy" },
  });
  expect(asked.status()).toBe(202);
  const { approvalId } = (await asked.json()).pending;
  expect(approvalId).toMatch(/^[0-9a-f-]{36}$/);

  const page = await signInPage(browser, b, "bo");
  await page.goto("/audit");
  const row = page.getByTestId("approval-row").filter({ hasText: lock.key });
  await expect(row).toContainText("by ana");
  await row.getByTestId("approve-button").click();
  await expect(page.getByTestId("approval-result").first()).toContainText("released");
  expect(await redis.exists(lock.key)).toBe(0);
  // A's audit page shows the whole attempt: asked on A by ana, approved on B by bo, applied.
  const onA = await signInPage(browser, a, "ana");
  await onA.goto("/audit");
  const attempt = onA.getByTestId("audit-row").filter({ hasText: lock.key });
  await expect(attempt).toContainText("approved by bo");
  await expect(attempt.getByTestId("audit-outcome")).toContainText(/applied/);
  await expect(onA.getByTestId("audit-chain-broken")).toHaveCount(0);
  await onA.close();
  // Used once: approving again on A finds nothing.
  const again = await request.post(`${a.url}/api/approvals/${approvalId}/approve`, {
    headers: { ...csrf, ...withCookie(await client(request, a, "bo")) },
    data: {},
  });
  expect(again.status()).toBe(404);
  await page.close();
});

test("a sign-out on A ends the session on B", async ({ request }) => {
  const di = await client(request, a, "di");
  expect(await whoami(b, di)).toBe("di");
  const out = await request.post(`${a.url}/api/auth/logout`, { headers: { ...csrf, ...withCookie(di) }, data: {} });
  expect(out.status()).toBe(200);
  expect(await whoami(b, di)).toBeNull();
  expect((await fetch(`${b.url}/api/connections`, { headers: withCookie(di) })).status).toBe(401);
});

test("wrong sign-ins spread over A and B hit one limit", async ({ request }) => {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await request.post(`${(i % 2 ? b : a).url}/api/auth/login`, { headers: csrf, data: { name: "zed", password: `guess-${i}` } });
    statuses.push(res.status());
  }
  // max 3 per (address, name) in all: one replica alone would have let 3 more through.
  expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
});

test("PostgreSQL stopped: the live view carries on, admin actions are refused; started: accepted, nothing lost", async ({ request }) => {
  test.setTimeout(90_000);
  const ana = await client(request, a, "ana");
  const bo = await client(request, b, "bo");
  const lock = await newLock(a, ana);
  const pending = await request.post(`${a.url}/api/connections/r/lock/release`, {
    headers: { ...csrf, ...withCookie(ana) },
    data: { key: lock.key, fence: lock.fence, reason: "made before the outage" },
  });
  expect(pending.status()).toBe(202);
  const { approvalId } = (await pending.json()).pending;
  expect(await whoami(b, bo)).toBe("bo"); // B has checked bo's session: it may view through the outage

  await pg.pause();
  let restarted = false;
  try {
    // The live view: B still lists the lock and follows a new one (Redis is fine).
    const key2 = `rep:lock:outage:${randomBytes(3).toString("hex")}`;
    await redis.set(key2, "tok-outage-0123456789", "PX", 300_000);
    await expect
      .poll(
        async () => {
          const res = await fetch(`${b.url}/api/connections/r/locks?limit=500`, { headers: withCookie(bo) });
          return res.ok ? ((await res.json()) as { locks: Array<{ key: string }> }).locks.map((l) => l.key) : [`status ${res.status}`];
        },
        { timeout: 20_000 },
      )
      .toEqual(expect.arrayContaining([lock.key, key2]));
    // Admin actions: refused, saying why; nothing reaches Redis.
    const approve = await request.post(`${b.url}/api/approvals/${approvalId}/approve`, { headers: { ...csrf, ...withCookie(bo) }, data: {} });
    expect(approve.status()).toBe(503);
    expect((await approve.json()).error).toMatchObject({ code: "shared_state_unavailable", message: expect.stringMatching(/PostgreSQL.*unavailable/) });
    const signIn = await request.post(`${a.url}/api/auth/login`, { headers: csrf, data: { name: "bo", password: PASSWORDS.bo } });
    expect(signIn.status()).toBe(503);
    expect(await redis.exists(lock.key)).toBe(1);
    // Still ready (the live view works), and says PostgreSQL is down.
    const ready = await (await fetch(`${a.url}/api/ready`)).json();
    expect(ready).toMatchObject({ ready: true, postgres: { configured: true, ok: false } });
    await pg.start();
    restarted = true;
    // Back by itself: the approval made before the outage is still there and now runs.
    const answers: string[] = [];
    await expect
      .poll(
        async () => {
          const res = await request.post(`${b.url}/api/approvals/${approvalId}/approve`, { headers: { ...csrf, ...withCookie(bo) }, data: {} });
          answers.push(`${res.status()} ${await res.text()}`);
          return res.status();
        },
        { timeout: 20_000 },
      )
      .not.toBe(503);
    expect(answers.at(-1), answers.join("\n")).toMatch(/^200 /);
    expect(await redis.exists(lock.key)).toBe(0);
    expect((await (await fetch(`${a.url}/api/ready`)).json()).postgres.ok).toBe(true);
  } finally {
    if (!restarted) await pg.start();
  }
});

test("kill -9 of the replica reading Redis: another takes over within 10 s; browsers and streams on the others keep receiving changes", async ({
  request,
  browser,
}) => {
  test.setTimeout(120_000);
  const c = await startConsole({ config, env: SECRET, name: "replica-c" });
  try {
    const all = [a, b, c];
    const readerName = async (r: Console) =>
      ((await (await fetch(`${r.url}/api/ready`)).json()) as { connections: Array<{ role: string; reader: string | null }> }).connections[0];
    // Exactly one reads; the others follow it. A follower names its reader only once it has read
    // the reader's status (null until then), so wait for both in one condition.
    const settled = async () => {
      const roles = await Promise.all(all.map(readerName));
      const leader = roles.findIndex((x) => x.role === "leader");
      const shape = roles
        .map((x) => x.role)
        .sort()
        .join(",");
      const named = leader >= 0 && roles.filter((x) => x.role === "follower").every((x) => x.reader?.includes(`:${all[leader].port}#`));
      return { leader, summary: `${shape} followers-name-reader=${named}` };
    };
    await expect.poll(async () => (await settled()).summary, { timeout: 20_000 }).toBe("follower,follower,leader followers-name-reader=true");
    const reader = all[(await settled()).leader];
    const others = all.filter((r) => r !== reader);

    // A browser and a raw event stream on each remaining replica.
    const pages = await Promise.all(
      others.map(async (r) => {
        const page = await signInPage(browser, r, "cy");
        await page.goto("/c/r");
        return page;
      }),
    );
    const cy = await client(request, others[0], "cy");
    const streams = others.map((r) => {
      const ctl = new AbortController();
      let text = "";
      void fetch(`${r.url}/api/events?connection=r`, { headers: withCookie(cy), signal: ctl.signal })
        .then(async (res) => {
          const reader = res.body!.getReader();
          for (let r = await reader.read(); !r.done; r = await reader.read()) text += Buffer.from(r.value).toString("utf8");
        })
        .catch(() => undefined);
      return { seen: () => text, stop: () => ctl.abort() };
    });
    const before = `rep:lock:before-kill:${randomBytes(3).toString("hex")}`;
    await redis.set(before, "tok-before-0123456789", "PX", 300_000);
    for (const page of pages) await expect(page.getByText(before)).toBeVisible({ timeout: 10_000 });

    await reader.kill9();
    const killed = Date.now();
    await expect
      .poll(async () => (await Promise.all(others.map(readerName))).some((x) => x.role === "leader"), { timeout: 10_000, intervals: [200] })
      .toBe(true);
    const takeover = Date.now() - killed;
    expect(takeover).toBeLessThan(10_000);
    console.log(`replicas: a new reading replica took over ${takeover} ms after kill -9`);

    const after = `rep:lock:after-kill:${randomBytes(3).toString("hex")}`;
    await redis.set(after, "tok-after-0123456789", "PX", 300_000);
    for (const page of pages) await expect(page.getByText(after)).toBeVisible({ timeout: 10_000 });
    for (const s of streams) await expect.poll(() => s.seen().includes(after), { timeout: 10_000 }).toBe(true);
    for (const s of streams) s.stop();
    for (const page of pages) await page.close();
  } finally {
    await c.stop();
  }
});

test("/api/ready: 503 with the reason while the shared PostgreSQL has never been reached; /api/health stays 200", async () => {
  const dead = await startConsole({
    config: { ...config, postgres: { url: "postgres://lockdeck@127.0.0.1:1/none", statementTimeoutMs: 500 } },
    env: SECRET,
    name: "replica-nopg",
  });
  try {
    const res = await fetch(`${dead.url}/api/ready`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { reasons: string[] }).reasons.join("\n")).toMatch(/postgres: not reached since start-up/);
    expect((await fetch(`${dead.url}/api/health`)).status).toBe(200);
    // The image's HEALTHCHECK script, from the standalone output: live yes, ready no.
    const probe = (...args: string[]) =>
      spawnSync(process.execPath, [path.join(path.dirname(STANDALONE_START), "healthcheck.mjs"), ...args], {
        env: { ...process.env, PORT: String(dead.port), LOCKDECK_HEALTH_HOST: "127.0.0.1" },
      }).status;
    expect(probe()).toBe(0);
    expect(probe("--ready")).toBe(1);
    expect(
      spawnSync(process.execPath, [path.join(path.dirname(STANDALONE_START), "healthcheck.mjs")], {
        env: { ...process.env, PORT: String(dead.port), LOCKDECK_HEALTH_HOST: "evil.example" },
      }).status,
    ).toBe(1);
  } finally {
    await dead.stop();
  }
});

test("the reading replica frozen (SIGSTOP), its clock 40 s ahead: a follower's view ages from the reader's last confirmation and turns stale; thawed: current again", async () => {
  test.setTimeout(150_000);
  // A connection of their own, so the reader is the replica started first: the one whose clock is off.
  const own = { connections: [{ id: "f", kind: "redis", url: redisServer.url, patterns: ["frz:*"], notifications: "use" }], postgres: config.postgres };
  const reader = await startConsole({ config: own, env: { ...SECRET, ...fakeClock("+40s") }, name: "replica-ahead" });
  let follower: Console | undefined;
  let frozen = false;
  try {
    await expect.poll(async () => (await fetch(`${reader.url}/api/ready`)).status, { timeout: 30_000 }).toBe(200);
    follower = await startConsole({ config: own, env: SECRET, name: "replica-follower" });
    await expect.poll(async () => (await fetch(`${follower!.url}/api/ready`)).status, { timeout: 30_000 }).toBe(200);
    const status = async () => ((await (await fetch(`${follower!.url}/api/connections`)).json()) as ConnectionSummary[]).find((c) => c.id === "f")!;
    const before = `frz:lock:before:${randomBytes(3).toString("hex")}`;
    await redis.set(before, randomBytes(16).toString("hex"), "PX", 300_000);
    await expect
      .poll(
        async () => {
          const s = await status();
          return `${s.server} ${s.lockCount}`;
        },
        { timeout: 15_000 },
      )
      .toMatch(/read by replica .* 1$/);

    process.kill(reader.pid(), "SIGSTOP");
    frozen = true;
    const frozeAt = Date.now();
    const during = `frz:lock:during:${randomBytes(3).toString("hex")}`;
    await redis.set(during, randomBytes(16).toString("hex"), "PX", 300_000);
    // Nobody reads the store now: no answer may date its confirmation after the freeze, and the
    // view turns stale within the live window (10 s) and a check or two. (Old code: the
    // follower confirmed its own view every check, and the reader's heartbeat, dated by its
    // clock 40 s ahead, looked fresh for 50 s.)
    let staleAfter: number | null = null;
    while (staleAfter === null && Date.now() - frozeAt < 25_000) {
      const s = await status();
      expect(
        s.confirmedAt === null || Date.parse(s.confirmedAt) <= frozeAt + 500,
        `confirmed ${s.confirmedAt}, frozen at ${new Date(frozeAt).toISOString()}`,
      ).toBe(true);
      if (s.stale) staleAfter = Date.now() - frozeAt;
      else await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`replicas: the follower's view turned stale ${staleAfter} ms after its reader froze`);
    expect(staleAfter).not.toBeNull();
    expect(staleAfter!).toBeLessThan(16_000);
    // Stale beats partial: the last view, not an empty one.
    expect((await status()).lockCount).toBe(1);

    process.kill(reader.pid(), "SIGCONT");
    frozen = false;
    // Thawed: current again, with what changed meanwhile. (Old code: a Redis follower stayed
    // "unreachable: … has been silent" until the reader changed.)
    await expect
      .poll(
        async () => {
          const s = await status();
          return `${s.status} ${s.stale} ${s.lockCount}`;
        },
        { timeout: 20_000 },
      )
      .toBe("ok false 2");
  } finally {
    if (frozen) process.kill(reader.pid(), "SIGCONT");
    await Promise.allSettled([reader.stop(), follower?.stop()]);
  }
});

test("SIGTERM under 50 live event streams: every stream ends with a retry hint, the process exits 0 in < 10 s", async () => {
  test.setTimeout(90_000);
  // As the image runs it: an unprivileged user (nobody), app files it cannot write.
  const asRoot = process.getuid?.() === 0;
  const local = await startConsole({
    config: { connections: config.connections, postgres: config.postgres },
    env: SECRET,
    name: "replica-term",
    uid: asRoot ? 65534 : undefined,
  });
  const streams = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const res = await fetch(`${local.url}/api/events`);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let text = "";
      const done = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return text;
          text += new TextDecoder().decode(value);
        }
      })();
      return { done, seen: () => text };
    }),
  );
  await expect.poll(() => streams.every((s) => s.seen().includes("event: status")), { timeout: 20_000 }).toBe(true);
  const started = Date.now();
  local.signal("SIGTERM");
  const how = await local.exited();
  const took = Date.now() - started;
  expect(how).toBe("code 0");
  expect(took).toBeLessThan(10_000);
  const texts = await Promise.all(streams.map((s) => s.done));
  for (const t of texts) expect(t).toMatch(/\nretry: \d+\n/);
  await local.stop();
});
