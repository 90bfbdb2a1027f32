import { expect, test } from "@playwright/test";
import Redis from "ioredis";
import { randomBytes } from "node:crypto";

const redisUrl = process.env.E2E_REDIS_URL!;

async function seenLock(request: import("@playwright/test").APIRequestContext, key: string) {
  let body: { lock: { fence: string } } | null = null;
  await expect
    .poll(async () => {
      const res = await request.get(`/api/connections/redis/lock?key=${encodeURIComponent(key)}`);
      if (res.ok()) body = await res.json();
      return res.status();
    })
    .toBe(200);
  return body!.lock;
}

test("state-changing requests from another origin are refused and delete nothing", async ({ request, baseURL }) => {
  const redis = new Redis(redisUrl);
  const key = `e2e:lock:csrf:${Date.now()}`;
  const value = randomBytes(16).toString("hex");
  await redis.set(key, value, "PX", 120_000);
  try {
    const lock = await seenLock(request, key);
    const url = `/api/connections/redis/lock/release`;
    const data = { key, fence: lock.fence, reason: "csrf probe" };
    const json = { "content-type": "application/json" };
    const attempts = [
      { ...json, "x-lockdeck-csrf": "1", origin: "http://evil.example" },
      { ...json, "x-lockdeck-csrf": "1", origin: "null" },
      { ...json, "x-lockdeck-csrf": "1", "sec-fetch-site": "cross-site" },
      { ...json }, // a plain cross-site form or fetch cannot add the custom header
    ];
    for (const headers of attempts) {
      const res = await request.post(url, { headers, data });
      expect(res.status(), JSON.stringify(headers)).toBe(403);
      expect((await res.json()).error.code).toBe("csrf");
    }
    const form = await request.post(url, { headers: { "x-lockdeck-csrf": "1" }, form: data });
    expect(form.status()).toBe(415);
    expect(await redis.get(key)).toBe(value);

    // A fence from one lock cannot release another.
    const other = await request.post(url, {
      headers: { ...json, "x-lockdeck-csrf": "1", origin: baseURL! },
      data: { ...data, key: `${key}:other` },
    });
    expect(other.status()).toBe(400);
    const noReason = await request.post(url, { headers: { ...json, "x-lockdeck-csrf": "1" }, data: { ...data, reason: "" } });
    expect(noReason.status()).toBe(400);
    expect((await noReason.json()).error.message).toMatch(/reason/);
    expect(await redis.get(key)).toBe(value);
  } finally {
    redis.disconnect();
  }
});

test("errors are JSON with a code, never a stack", async ({ request }) => {
  const missing = await request.get("/api/connections/nope/locks");
  expect(missing.status()).toBe(404);
  expect(await missing.json()).toEqual({ error: { code: "not_found", message: 'no connection "nope"' } });
  // An id from the URL is quoted, escaped and cut, not echoed whole.
  const long = await request.get(`/api/connections/${"a".repeat(5_000)}%0d%0aX-Injected:%201/locks`);
  expect(long.status()).toBe(404);
  expect((await long.json()).error.message).toBe(`no connection "${"a".repeat(100)}…"`);
  const ctl = await request.get("/api/connections/x%0d%0aX-Injected:%201/locks");
  expect((await ctl.json()).error.message).toBe('no connection "x\\r\\nX-Injected: 1"');
  // A path no API route serves: JSON naming it, for any method, not Next's HTML page.
  for (const [method, path] of [
    ["GET", "/api/nope"],
    ["POST", "/api/nope/deeper"],
    ["GET", "/api/connections/redis"],
  ] as const) {
    const res = await request.fetch(path, { method, headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" } });
    expect(res.status(), `${method} ${path}`).toBe(404);
    expect(res.headers()["content-type"], path).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: `path: no API endpoint "${path}"` } });
  }
  // A method a route does not serve: JSON 405 naming it, with Allow (Next's own is empty).
  for (const [method, path, allow] of [
    ["POST", "/api/health", "GET, HEAD, OPTIONS"],
    ["DELETE", "/api/connections/redis/locks", "GET, HEAD, OPTIONS"],
    ["GET", "/api/auth/login", "POST, OPTIONS"],
  ] as const) {
    const res = await request.fetch(path, { method, headers: { "content-type": "application/json", "x-lockdeck-csrf": "1" } });
    expect(res.status(), `${method} ${path}`).toBe(405);
    expect(res.headers()["allow"], path).toBe(allow);
    expect((await res.json()).error).toEqual({ code: "method_not_allowed", message: `method: ${method} is not served here (allowed: ${allow})` });
  }
  const options = await request.fetch("/api/connections/redis/settings", { method: "OPTIONS" });
  expect(options.status()).toBe(204);
  expect(options.headers()["allow"]).toBe("GET, HEAD, PUT, OPTIONS");
  const bad = await request.get("/api/connections/redis/locks?status=sleepy&limit=9999");
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error.code).toBe("bad_request");
});

test("connections never carry credentials; the event stream starts with status", async ({ request, baseURL }) => {
  const list = await request.get("/api/connections");
  const text = await list.text();
  expect(text).not.toContain("password");
  expect(text).not.toContain(new URL(redisUrl).port); // not even the store address
  const res = await fetch(`${baseURL}/api/events?connection=redis`);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toMatch(/^id: [0-9a-f]+-\d+\nevent: status\ndata: \{"connection":"redis"/);
  await reader.cancel();
});

test("every route that reads a query refuses an unknown parameter with a 400 naming it, and takes its real ones", async ({ request, baseURL }) => {
  const now = Date.now();
  // [a typo the route must refuse, the same request spelled right]
  const pairs: Array<[string, string, string]> = [
    ["state", "/api/connections/redis/locks?state=held", "/api/connections/redis/locks?status=held"],
    ["keys", "/api/connections/demo/lock?key=x&keys=x", "/api/connections/redis/lock?key=e2e%3Alock%3Aquery-probe"],
    ["lock", "/api/connections/redis/waits?lock=x", "/api/connections/redis/waits?limit=10"],
    ["from", "/api/audit?from=2026-01-01", "/api/audit?limit=5"],
    ["range", `/api/history?connection=redis&key=x&range=1h`, `/api/history?connection=redis&key=x&from=${now - 60_000}&to=${now}`],
    ["top", "/api/contention/top?top=5", "/api/contention/top?limit=5"],
    ["max", "/api/connections/etcd/leases?max=5", "/api/connections/etcd/leases?limit=5"],
  ];
  for (const [name, wrong, right] of pairs) {
    const bad = await request.get(wrong);
    expect(bad.status(), wrong).toBe(400);
    const body = await bad.json();
    expect(body.error.code, wrong).toBe("bad_request");
    expect(body.error.message, wrong).toMatch(new RegExp(`^${name}: unknown parameter`));
    expect(body.parameter, wrong).toBe(name);
    const good = await request.get(right);
    // The lock detail of a key nobody holds is a 404 with what is known of it: the query itself was taken.
    expect(good.status(), right).toBe(right.includes("/lock?") ? 404 : 200);
  }
  // Routes that take no parameters refuse any one given, rather than answer everything.
  for (const path of [
    "/api/overview",
    "/api/alerts",
    "/api/metrics",
    "/api/connections",
    "/api/approvals",
    "/api/audit/export",
    "/api/connections/redis/settings",
    "/api/connections/consul/sessions",
  ]) {
    const bad = await request.get(`${path}?connection=redis`);
    expect(bad.status(), path).toBe(400);
    expect((await bad.json()).error.message, path).toMatch(/^connection: unknown parameter \(this endpoint takes none\)/);
    expect((await request.get(path)).status(), path).toBe(200);
  }
  const stream = await fetch(`${baseURL}/api/events?conection=redis`);
  expect(stream.status).toBe(400);
  expect((await stream.json()).error.message).toMatch(/^conection: unknown parameter/);
});
