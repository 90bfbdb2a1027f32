// Who the console trusts, and what it says on the wire, against the real servers of the rig:
//   open   `npm start`, no sign-in (E2E_BASE_URL)
//   secure `npm start`, users + a trusted proxy at 127.0.0.2 + allowedHosts (E2E_SECURE_URL)
//   bare   a plain `next start` with the secure config (E2E_BARE_URL): no socket peer is known
// Host-header rebinding (raw requests and a real browser whose resolver maps attacker.example to
// loopback), spoofed proxy headers, limiter bypasses, bodies, headers, open redirect, what a
// viewer is sent, and start-up refusals.
import { expect, test, chromium } from "@playwright/test";
import Redis from "ioredis";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { JSON_POST, fenceOf, raw, sessionFrom } from "./raw-http";

const open = process.env.E2E_BASE_URL!;
const secure = process.env.E2E_SECURE_URL!;
const bare = process.env.E2E_BARE_URL!;
const proxyAddr = process.env.E2E_PROXY_ADDRESS!;
const port = (base: string) => new URL(base).port;
const rand = () => `${Date.now()}-${randomBytes(3).toString("hex")}`;

async function signIn(base: string, name: string, password: string, from?: string) {
  const a = await raw(base, "/api/auth/login", { method: "POST", headers: JSON_POST, body: JSON.stringify({ name, password }), from });
  expect(a.status, `sign in as ${name}: ${a.text}`).toBe(200);
  return sessionFrom(a);
}

// Sign-ins are rate-limited per name (8 a minute on this rig) and the specs share names: the
// operator signs in once for the whole file.
let anaCookie: string | null = null;
async function ana(): Promise<string> {
  anaCookie ??= await signIn(secure, "ana", "ana-pass-1");
  return anaCookie;
}

async function redisLock(request: import("@playwright/test").APIRequestContext, redis: Redis, conn: string) {
  const key = `e2e:lock:hard:${rand()}`;
  await redis.set(key, `tok-${rand()}`, "PX", 120_000);
  return { key, fence: await fenceOf(request, conn, key) };
}

test.describe("DNS rebinding: only allowed Host headers are answered", () => {
  test("no sign-in: a foreign Host gets 421 on a page and on the API, and a release from it deletes nothing", async ({ request }) => {
    const redis = new Redis(process.env.E2E_REDIS_URL!);
    try {
      const lock = await redisLock(request, redis, "redis");
      const attacker = { host: `attacker.example:${port(open)}`, origin: `http://attacker.example:${port(open)}` };
      expect((await raw(open, "/", { headers: attacker })).status).toBe(421);
      const api = await raw(open, "/api/connections", { headers: attacker });
      expect(api.status).toBe(421);
      expect(api.json().error).toMatchObject({ code: "misdirected", message: expect.stringMatching(/^host: "attacker\.example/) });
      const release = await raw(open, "/api/connections/redis/lock/release", {
        method: "POST",
        headers: { ...JSON_POST, ...attacker },
        body: JSON.stringify({ key: lock.key, fence: lock.fence, reason: "rebinding" }),
      });
      expect(release.status).toBe(421);
      expect(await redis.exists(lock.key)).toBe(1);
      for (const host of [`localhost:${port(open)}`, `127.0.0.1:${port(open)}`, `[::1]:${port(open)}`]) {
        expect((await raw(open, "/api/health", { headers: { host } })).status, host).toBe(200);
      }
      await expect
        .poll(() => readFileSync(process.env.E2E_OPEN_LOG!, "utf8"))
        .toMatch(/refused (GET|POST) \S+ for Host "attacker\.example:\d+" from 127\.0\.0\.1: not an allowed host \(421\)/);
    } finally {
      redis.disconnect();
    }
  });

  test("a real browser whose resolver sends attacker.example to the console cannot use it", async () => {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--host-resolver-rules=MAP attacker.example 127.0.0.1"],
    });
    try {
      const page = await browser.newPage();
      const res = await page.goto(`http://attacker.example:${port(open)}/`);
      expect(res?.status()).toBe(421);
      const status = await page.evaluate(async () => (await fetch("/api/connections")).status);
      expect(status).toBe(421);
    } finally {
      await browser.close();
    }
  });

  test("with sign-in, allowedHosts decides; a bare `next start` enforces it too", async () => {
    for (const base of [secure, bare]) {
      expect((await raw(base, "/login", { headers: { host: `attacker.example:${port(base)}` } })).status, base).toBe(421);
      expect((await raw(base, "/api/whoami", { headers: { host: `attacker.example:${port(base)}` } })).status, base).toBe(421);
      expect((await raw(base, "/api/whoami", { headers: { host: `localhost:${port(base)}` } })).status, base).toBe(200);
    }
    await expect.poll(() => readFileSync(process.env.E2E_BARE_LOG!, "utf8")).toMatch(/refused GET \/\S* for Host "attacker\.example:\d+"/);
  });
});

test.describe("trusted proxies", () => {
  const proxied = { "x-forwarded-user": "pat", "x-forwarded-groups": "dev, oncall", "x-forwarded-for": "198.51.100.7" };

  test("identity headers count only from the trusted proxy's address; a bare `next start` (peer unknown) ignores them", async () => {
    const fromProxy = await raw(secure, "/api/whoami", { headers: proxied, from: proxyAddr });
    expect(fromProxy.json()).toMatchObject({ actor: "pat", role: "operator", method: "proxy" });
    const spoofed = await raw(secure, "/api/whoami", { headers: proxied, from: "127.0.0.1" });
    expect(spoofed.json()).toMatchObject({ actor: null });
    expect((await raw(secure, "/api/connections", { headers: { ...proxied, "x-forwarded-groups": "platform" }, from: "127.0.0.1" })).status).toBe(401);
    // Naming a peer id is no way in either: the id header is overwritten by npm start.
    expect((await raw(secure, "/api/connections", { headers: { ...proxied, "x-lockdeck-peer": "x" }, from: "127.0.0.1" })).status).toBe(401);
    expect((await raw(bare, "/api/whoami", { headers: proxied, from: proxyAddr })).json()).toMatchObject({ actor: null });
    expect((await raw(bare, "/api/connections", { headers: proxied, from: proxyAddr })).status).toBe(401);
  });

  test("the audit's source address is the peer, or what the trusted proxy saw; never a client's X-Forwarded-For", async () => {
    const name = `ghost-${rand()}`;
    await raw(secure, "/api/auth/login", {
      method: "POST",
      headers: { ...JSON_POST, "x-forwarded-for": "6.6.6.6" },
      body: JSON.stringify({ name, password: "x" }),
      from: "127.0.0.3",
    });
    await raw(secure, "/api/auth/login", {
      method: "POST",
      headers: { ...JSON_POST, "x-forwarded-for": "6.6.6.6, 198.51.100.9" },
      body: JSON.stringify({ name, password: "x" }),
      from: proxyAddr,
    });
    const { entries } = (await raw(secure, "/api/audit", { headers: { cookie: await ana() } })).json() as {
      entries: Array<{ actor: string; sourceIp?: string }>;
    };
    expect(
      entries
        .filter((e) => e.actor === name)
        .map((e) => e.sourceIp)
        .sort(),
    ).toEqual(["127.0.0.3", "198.51.100.9"]);
  });
});

test.describe("sign-in limits", () => {
  test("rotating X-Forwarded-For from an untrusted address does not buy new attempts", async () => {
    const name = `mallory-${rand()}`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const a = await raw(secure, "/api/auth/login", {
        method: "POST",
        headers: { ...JSON_POST, "x-forwarded-for": `10.0.${i}.1` },
        body: JSON.stringify({ name, password: `guess-${i}` }),
        from: "127.0.0.4",
      });
      statuses.push(a.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  test("behind the trusted proxy, its clients are told apart", async () => {
    const name = `carol-${rand()}`;
    for (let i = 0; i < 5; i++) {
      const a = await raw(secure, "/api/auth/login", {
        method: "POST",
        headers: { ...JSON_POST, "x-forwarded-for": "198.51.100.1" },
        body: JSON.stringify({ name, password: "x" }),
        from: proxyAddr,
      });
      expect(a.status).toBe(401);
    }
    const same = await raw(secure, "/api/auth/login", {
      method: "POST",
      headers: { ...JSON_POST, "x-forwarded-for": "198.51.100.1" },
      body: JSON.stringify({ name, password: "x" }),
      from: proxyAddr,
    });
    expect(same.status).toBe(429);
    const other = await raw(secure, "/api/auth/login", {
      method: "POST",
      headers: { ...JSON_POST, "x-forwarded-for": "198.51.100.2" },
      body: JSON.stringify({ name, password: "x" }),
      from: proxyAddr,
    });
    expect(other.status).toBe(401);
  });

  test("many addresses guessing one name hit the per-name limit (8 a minute here), whatever the password", async () => {
    const attempt = (from: string, password: string) =>
      raw(secure, "/api/auth/login", { method: "POST", headers: JSON_POST, body: JSON.stringify({ name: "zed", password }), from });
    const statuses: number[] = [];
    for (const from of ["127.0.0.5", "127.0.0.6"]) for (let i = 0; i < 4; i++) statuses.push((await attempt(from, `guess-${i}`)).status);
    expect(statuses).toEqual(Array(8).fill(401));
    expect((await attempt("127.0.0.7", "guess")).status).toBe(429);
    expect((await attempt("127.0.0.8", "zed-pass-1")).status).toBe(429);
  });
});

test.describe("sessions", () => {
  test("sign-out revokes the session on the server and is audited", async () => {
    const cookie = await signIn(secure, "bo", "bo-pass-1");
    expect((await raw(secure, "/api/whoami", { headers: { cookie } })).json()).toMatchObject({ actor: "bo", method: "session" });
    const out = await raw(secure, "/api/auth/logout", { method: "POST", headers: { ...JSON_POST, cookie }, body: "{}" });
    expect(out.status).toBe(200);
    expect(String(out.headers["set-cookie"])).toMatch(/lockdeck_session=; .*Max-Age=0/);
    // The old cookie, replayed, is nobody.
    expect((await raw(secure, "/api/connections", { headers: { cookie } })).status).toBe(401);
    const { entries } = (await raw(secure, "/api/audit", { headers: { cookie: await ana() } })).json() as {
      entries: Array<{ actor: string; action: string; outcome: string }>;
    };
    expect(entries.find((e) => e.action === "logout" && e.actor === "bo")).toMatchObject({ outcome: "applied" });
  });
});

test.describe("bodies", () => {
  test("malformed JSON is 400 and bodies over 64 KB are 413, with or without Content-Length", async () => {
    const cookie = await ana();
    const posts: Array<[string, string, "POST" | "PUT"]> = [
      [secure, "/api/auth/login", "POST"],
      [secure, "/api/connections/vault/lock/release", "POST"],
      [open, "/api/connections/redis/settings", "PUT"],
      [open, "/api/connections/redis/lock/release", "POST"],
    ];
    for (const [base, p, method] of posts) {
      const headers = { ...JSON_POST, cookie };
      const malformed = await raw(base, p, { method, headers, body: '{"name": "ana", "password": ' });
      expect(malformed.status, `${p} malformed`).toBe(400);
      expect(malformed.json().error).toEqual({ code: "bad_request", message: "body: not valid JSON" });
      const big = JSON.stringify({ key: "x".repeat(70 * 1024) });
      expect((await raw(base, p, { method, headers, body: big })).status, `${p} big`).toBe(413);
      const chunked = await raw(base, p, { method, headers, body: big, chunked: true });
      expect(chunked.status, `${p} big, chunked`).toBe(413);
      expect(chunked.json().error?.code).toBe("too_large");
    }
  });
});

test.describe("security headers", () => {
  test("pages and API answers carry CSP, frame-ancestors, nosniff and Referrer-Policy", async () => {
    for (const p of ["/", "/audit", "/c/redis", "/no-such-page"]) {
      const a = await raw(open, p);
      const csp = String(a.headers["content-security-policy"]);
      expect(csp, p).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
      expect(csp.split(";").find((d) => d.trim().startsWith("script-src"))).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(a.headers["x-content-type-options"]).toBe("nosniff");
      expect(a.headers["referrer-policy"]).toBe("no-referrer");
      // Every inline script but the hashed theme script carries this response's nonce.
      const nonce = /'nonce-([^']+)'/.exec(csp)![1];
      const inline = [...a.text.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)];
      expect(inline.filter((m) => !m[1].includes(`nonce="${nonce}"`))).toHaveLength(1);
    }
    for (const [base, p] of [
      [open, "/api/connections"],
      [open, "/api/health"],
      [secure, "/api/whoami"],
      [open, "/api/connections/nope/locks"],
    ]) {
      const a = await raw(base, p);
      expect(a.headers["content-security-policy"], p).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
      expect(a.headers["x-content-type-options"]).toBe("nosniff");
      expect(a.headers["referrer-policy"]).toBe("no-referrer");
    }
  });

  test("the console works in a real browser under its CSP, and the hashed theme script runs", async ({ page }) => {
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to (execute|load)/i.test(m.text())) violations.push(m.text());
    });
    await page.goto("/c/redis");
    await expect(page.getByTestId("mode-indicator").first()).toBeVisible();
    await page.evaluate(() => localStorage.setItem("lockdeck-theme", "dark"));
    await page.reload();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    await page.evaluate(() => localStorage.removeItem("lockdeck-theme"));
    expect(violations).toEqual([]);
  });
});

test.describe("open redirect", () => {
  test("`next` after sign-in only goes to a path on this site", async ({ browser }) => {
    // More shapes are in lib/auth/next-path.test.ts; sign-ins here are rate-limited per name.
    for (const next of ["/\\evil.example", "//evil.example"]) {
      const context = await browser.newContext({ baseURL: secure });
      const page = await context.newPage();
      await page.goto(`/login?next=${encodeURIComponent(next)}`);
      await page.getByTestId("login-name").fill("bo");
      await page.getByTestId("login-password").fill("bo-pass-1");
      await page.getByTestId("login-submit").click();
      await expect(page, next).toHaveURL(`${secure}/`);
      await context.close();
    }
  });
});

test.describe("least exposure", () => {
  test("viewers get holders, queues and TTLs; no raw values, fences, plans or audit export", async () => {
    const redis = new Redis(process.env.E2E_SECURE_REDIS_URL!);
    try {
      const key = `viewer:lock:${rand()}`;
      await redis.set(key, "tok-secret-value-0123456789", "PX", 120_000);
      const viewer = await signIn(secure, "vic", "vic-pass-1");
      const operator = await ana();
      const detail = async (cookie: string) => {
        let body: Record<string, unknown> = {};
        await expect
          .poll(async () => {
            const a = await raw(secure, `/api/connections/vault/lock?key=${encodeURIComponent(key)}`, { headers: { cookie } });
            if (a.status === 200) body = a.json();
            return a.status;
          })
          .toBe(200);
        return body as { lock: { fence: string; raw?: unknown[]; holders: Array<{ id: string }>; ttlMs: number }; plans: Record<string, unknown> };
      };
      const v = await detail(viewer);
      expect(v.lock.holders[0].id).toBe("tok-secret-value-0123456789");
      expect(v.lock.ttlMs).toBeGreaterThan(0);
      expect(v.lock.fence).toBe("");
      expect(v.lock.raw).toBeUndefined();
      expect(v.plans).toEqual({});
      const o = await detail(operator);
      expect(o.lock.fence).not.toBe("");
      expect(o.lock.raw?.length).toBeGreaterThan(0);
      const list = (await raw(secure, "/api/connections/vault/locks?limit=500", { headers: { cookie: viewer } })).json() as {
        locks: Array<{ key: string; fence: string; raw?: unknown }>;
      };
      expect(list.locks.find((l) => l.key === key)).toMatchObject({ fence: "" });
      expect((await raw(secure, "/api/audit/export", { headers: { cookie: viewer } })).status).toBe(403);
      expect((await raw(secure, "/api/audit/export", { headers: { cookie: operator } })).status).toBe(200);
      const audit = (await raw(secure, "/api/audit", { headers: { cookie: viewer } })).json() as { entries: Array<{ fence: string }> };
      expect(audit.entries.every((e) => e.fence === "")).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});

test.describe("start-up refuses unsafe settings, in one line naming the field", () => {
  const start = (env: Record<string, string>) =>
    spawnSync("node", ["scripts/start.mjs"], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOCKDECK_DATA_DIR: mkdtempSync(path.join(tmpdir(), "ld-refuse-")), ...env },
      encoding: "utf8",
      timeout: 60_000,
    });

  test("a session secret shorter than 32 bytes", () => {
    const r = start({ LOCKDECK_SESSION_SECRET: "short", LOCKDECK_CONNECTIONS: JSON.stringify([{ id: "m", kind: "memory", workload: false }]) });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/config error \(LOCKDECK_SESSION_SECRET\): must be at least 32 bytes/);
  });

  test("a proxy without trustedProxies", () => {
    const r = start({
      LOCKDECK_CONNECTIONS: JSON.stringify({ connections: [{ id: "m", kind: "memory", workload: false }], auth: { proxy: { enabled: true } } }),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/auth\.proxy\.trustedProxies: required when the proxy is enabled/);
  });
});

test("a request line the console cannot serve as asked gets a JSON error naming the field, never an off-site redirect", async () => {
  const cases: Array<[string, { method?: string; target: string }, number, RegExp]> = [
    ["absolute-form target", { target: "https://evil.example/api/whoami" }, 400, /^path: /],
    ["absolute-form page", { target: "http://evil.example/login" }, 400, /^path: /],
    ["asterisk", { method: "OPTIONS", target: "*" }, 400, /^path: /],
    ["bad percent-encoding", { target: "/api/connections/%ff%fe/locks" }, 400, /^path: not a valid percent-encoding/],
    ["cut percent-encoding", { target: "/api/connections/%E0%A4%A/locks" }, 400, /^path: /],
    ["TRACE", { method: "TRACE", target: "/api/health" }, 405, /^method: TRACE is not allowed/],
    // Next would hand the route U+FFFD for these: another key than the one the client meant.
    ["a query value that is not UTF-8", { target: "/api/connections/redis/lock?key=%ff" }, 400, /^key: not a valid percent-encoding \(UTF-8\)$/],
    ["a cut escape in a query value", { target: "/api/connections/redis/lock?key=a%e2%82" }, 400, /^key: not a valid percent-encoding/],
    ["a query name that is not UTF-8", { target: "/api/audit?k%ffy=1" }, 400, /^k%ffy: not a valid percent-encoding/],
  ];
  for (const [what, o, status, message] of cases) {
    const a = await raw(open, "/", o);
    expect(a.status, `${what}: ${a.text}`).toBe(status);
    expect(a.headers["content-type"], what).toMatch(/^application\/json/);
    expect(a.headers.location, what).toBeUndefined();
    expect(a.json().error?.message, what).toMatch(message);
  }
  // A plain path still works, and so does a query whose escapes are UTF-8.
  expect((await raw(open, "/", { target: "/api/health" })).status).toBe(200);
  const euro = await raw(open, "/", { target: "/api/connections/redis/lock?key=%e2%82%ac+x" });
  expect(euro.json().error?.message, euro.text).toMatch(/^key: "€ x" is not a lock key/);
});

test("query numbers are digits within bounds, and inherited names are unknown parameters", async () => {
  const cases: Array<[string, RegExp]> = [
    ["/api/contention/top?limit=0x10", /^limit: /],
    ["/api/contention/top?limit=1e2", /^limit: /],
    ["/api/contention/top?from=1796657000000&to=99999999999999999999999", /^to: /],
    ["/api/contention/top?from=8640000000000001", /^from: /],
    ["/api/connections/redis/locks?__proto__=1", /^__proto__: unknown parameter/],
    ["/api/audit?toString=1", /^toString: unknown parameter/],
  ];
  for (const [path, message] of cases) {
    const a = await raw(open, path);
    expect(a.status, `${path}: ${a.text}`).toBe(400);
    expect(a.json().error?.message, path).toMatch(message);
  }
});
