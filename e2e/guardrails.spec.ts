// The console acts only on the locks it shows: forged and re-aimed fences and reads outside a
// connection's scope, on all four real stores of the e2e rig, through the HTTP API of `npm
// start`. Each attack is refused with a 400 naming the field, audited as refused, and the store
// is checked with its own client afterwards: nothing changed.
import { expect, test, type APIRequestContext } from "@playwright/test";
import Redis from "ioredis";
import { Etcd3 } from "etcd3";
import { randomBytes } from "node:crypto";
import { CreateMode, ZkSession } from "../lib/stores/zookeeper/client";
import { fenceOf } from "./raw-http";

const csrf = { "content-type": "application/json", "x-lockdeck-csrf": "1" };
const rand = () => `${Date.now()}-${randomBytes(3).toString("hex")}`;

/** A fence as an attacker edits a copy: readable part changed, signature kept. */
function forge(fence: string, change: (body: { k: string; h: Record<string, unknown> }) => void): string {
  const [payload, mac] = fence.split(".");
  const body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  change(body);
  return `${Buffer.from(JSON.stringify(body)).toString("base64url")}.${mac}`;
}

/** The attack that worked before fences were signed: a v1 fence written from scratch. */
function unsigned(connection: string, key: string, format: string, h: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ v: 1, c: connection, k: key, f: format, h })).toString("base64url");
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same signature bytes spelled another way: the last character's spare low bit flipped. */
function respelled(fence: string): string {
  return fence.slice(0, -1) + B64URL[B64URL.indexOf(fence.at(-1)!) ^ 1];
}

async function signedFenceOf(request: APIRequestContext, conn: string, key: string): Promise<string> {
  const fence = await fenceOf(request, conn, key);
  expect(fence).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  return fence;
}

/** Every attempt answers 400 with the code and a message naming the field, and is audited as refused. */
async function refused(
  request: APIRequestContext,
  conn: string,
  attempts: Array<{ key: string; fence: string; mode?: string; code: string; message: RegExp }>,
) {
  const reason = `attack ${rand()}`;
  for (const a of attempts) {
    const res = await request.post(`/api/connections/${conn}/lock/release`, {
      headers: csrf,
      data: { key: a.key, fence: a.fence, reason, mode: a.mode ?? "delete" },
    });
    expect(res.status(), `${conn} ${a.key}`).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe(a.code);
    expect(body.error.message).toMatch(a.message);
  }
  const { entries } = await (await request.get(`/api/audit?connection=${conn}&limit=5000`)).json();
  const mine = entries.filter((e: { reason: string }) => e.reason === reason);
  expect(mine).toHaveLength(attempts.length);
  for (const e of mine)
    expect(e).toMatchObject({ action: "release", phase: "outcome", outcome: "refused", detail: expect.stringMatching(/^(fence|key|mode): /) });
}

async function readRefused(request: APIRequestContext, conn: string, key: string, code: string) {
  const res = await request.get(`/api/connections/${conn}/lock?key=${encodeURIComponent(key)}`);
  expect(res.status(), `${conn} read ${key}`).toBe(400);
  const body = await res.json();
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(/^key: /);
}

test("Redis: a fence edited to name a key outside the patterns, re-aimed or unsigned deletes nothing", async ({ request }) => {
  const redis = new Redis(process.env.E2E_REDIS_URL!);
  try {
    const victim = `session:admin:${rand()}`;
    const lockKey = `e2e:lock:guard:${rand()}`;
    await redis.set(victim, "s3cr3t");
    await redis.set(lockKey, "tok-guard-0123456789", "PX", 120_000);
    const fence = await signedFenceOf(request, "redis", lockKey);
    await refused(request, "redis", [
      { key: victim, fence: forge(fence, (b) => (b.k = victim)), code: "bad_fence", message: /^fence: signature/ },
      { key: victim, fence, code: "bad_fence", message: /^fence: made for another key/ },
      {
        key: victim,
        fence: unsigned("redis", victim, "redis.token", { t: "string", v: Buffer.from("s3cr3t").toString("base64") }),
        code: "bad_fence",
        message: /^fence: /,
      },
      // The lock's own genuine fence, but a mode Redis does not offer, or its signature respelled.
      { key: lockKey, fence, mode: "revoke-lease", code: "bad_request", message: /^mode: redis locks are released by delete, not revoke-lease/ },
      { key: lockKey, fence: respelled(fence), code: "bad_fence", message: /^fence: signature does not verify/ },
    ]);
    await readRefused(request, "redis", victim, "out_of_scope");
    expect(await redis.get(victim)).toBe("s3cr3t");
    expect(await redis.get(lockKey)).toBe("tok-guard-0123456789");
    // The genuine fence on its own lock still works: guardrails, not a lock-out.
    const ok = await request.post("/api/connections/redis/lock/release", { headers: csrf, data: { key: lockKey, fence, reason: "e2e guard: genuine" } });
    expect(ok.status()).toBe(200);
    expect(await redis.exists(lockKey)).toBe(0);
  } finally {
    redis.disconnect();
  }
});

test("etcd: a holder key or lock key outside the prefixes is never deleted, revoked or read", async ({ request }) => {
  const etcd = new Etcd3({ hosts: process.env.E2E_ETCD_ENDPOINT! });
  const lease = etcd.lease(60);
  try {
    const victim = `secret/db-password-${rand()}`;
    await etcd.put(victim).value("hunter2");
    const id = BigInt(await lease.grant()).toString(16);
    const group = `e2e/guard-${rand()}/`;
    await lease.put(group + id).value("");
    const fence = await signedFenceOf(request, "etcd", group);
    await refused(request, "etcd", [
      { key: "secret/", fence: forge(fence, (b) => ((b.k = "secret/"), (b.h.k = victim))), code: "bad_fence", message: /^fence: signature/ },
      { key: group, fence: forge(fence, (b) => (b.h.k = victim)), code: "bad_fence", message: /^fence: signature/ },
      { key: victim, fence, mode: "revoke-lease", code: "bad_fence", message: /^fence: made for another key/ },
    ]);
    await readRefused(request, "etcd", victim, "out_of_scope");
    expect(await etcd.get(victim).string()).toBe("hunter2");
    expect(await etcd.get(group + id).string()).toBe("");
  } finally {
    await lease.revoke().catch(() => {});
    etcd.close();
  }
});

test("ZooKeeper: znodes outside the lock directory or the roots, and '..' paths, are refused", async ({ request }) => {
  const zk = new ZkSession({ connectString: process.env.E2E_ZK_ADDRESS!, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
  await zk.connected();
  try {
    if (!(await zk.exists("/locks"))) await zk.create("/locks", Buffer.alloc(0), CreateMode.PERSISTENT).catch(() => {});
    const config = `/config-${rand()}`;
    await zk.create(config, Buffer.alloc(0), CreateMode.PERSISTENT);
    await zk.create(`${config}/db`, Buffer.from("primary"), CreateMode.PERSISTENT);
    const dir = `/locks/guard-${rand()}`;
    await zk.create(dir, Buffer.alloc(0), CreateMode.PERSISTENT);
    const holder = await zk.create(`${dir}/lock-`, Buffer.alloc(0), CreateMode.EPHEMERAL_SEQUENTIAL);
    const fence = await signedFenceOf(request, "zookeeper", dir);
    await refused(request, "zookeeper", [
      { key: dir, fence: forge(fence, (b) => (b.h.nodes = JSON.stringify([[`${config}/db`, 0, "1"]]))), code: "bad_fence", message: /^fence: signature/ },
      { key: config, fence: forge(fence, (b) => (b.k = config)), code: "bad_fence", message: /^fence: signature/ },
      { key: `${config}/db`, fence, code: "bad_fence", message: /^fence: made for another key/ },
      {
        key: `/locks/../${config.slice(1)}/db`,
        fence: unsigned("zookeeper", `/locks/../${config.slice(1)}/db`, "zk.recipe", {
          t: "zk",
          nodes: JSON.stringify([[`/locks/../${config.slice(1)}/db`, 0, "1"]]),
        }),
        code: "bad_fence",
        message: /^fence: /,
      },
    ]);
    await readRefused(request, "zookeeper", `${config}/db`, "out_of_scope");
    await readRefused(request, "zookeeper", `/locks/../${config.slice(1)}/db`, "bad_key");
    await readRefused(request, "zookeeper", `/locks/a\u0000b`, "bad_key");
    expect((await zk.getData(`${config}/db`)).data.toString()).toBe("primary");
    expect(await zk.exists(holder)).not.toBeNull();
  } finally {
    zk.close();
  }
});

test("Consul: keys outside the prefixes, '..' and %2E%2E escapes, and foreign sessions are refused", async ({ request }) => {
  const consul = process.env.E2E_CONSUL_URL!;
  const call = async (method: string, path: string, body?: string) => {
    const res = await fetch(consul + path, { method, body });
    return res.status === 404 ? null : res.json();
  };
  const victimSession = ((await call("PUT", "/v1/session/create", JSON.stringify({ Name: "victim", TTL: "60s" }))) as { ID: string }).ID;
  const holderSession = ((await call("PUT", "/v1/session/create", JSON.stringify({ Name: "e2e guard", TTL: "60s" }))) as { ID: string }).ID;
  const victim = `config-${rand()}/db`;
  expect(await call("PUT", `/v1/kv/${victim}?acquire=${victimSession}`, "primary")).toBe(true);
  const lockKey = `e2e/guard-${rand()}`;
  expect(await call("PUT", `/v1/kv/${lockKey}?acquire=${holderSession}`, "x")).toBe(true);
  try {
    const fence = await signedFenceOf(request, "consul", lockKey);
    await refused(request, "consul", [
      {
        key: victim,
        fence: forge(fence, (b) => ((b.k = victim), (b.h.s = victimSession))),
        mode: "destroy-session",
        code: "bad_fence",
        message: /^fence: signature/,
      },
      { key: victim, fence, mode: "destroy-session", code: "bad_fence", message: /^fence: made for another key/ },
      {
        key: "e2e/../../agent/self",
        fence: unsigned("consul", "e2e/../../agent/self", "consul.lock", { t: "kv", mi: 1, li: 1, s: victimSession }),
        code: "bad_fence",
        message: /^fence: /,
      },
    ]);
    await readRefused(request, "consul", victim, "out_of_scope");
    await readRefused(request, "consul", "e2e/../../agent/self", "bad_key");
    // %2E%2E decoded by the query string is "..": refused; a literal "%2E%2E" in a key is just a key.
    const dotted = await request.get("/api/connections/consul/lock?key=e2e%2F%2E%2E%2F%2E%2E%2Fv1%2Fagent%2Fself");
    expect(dotted.status()).toBe(400);
    expect((await request.get("/api/connections/consul/lock?key=e2e%2F%252E%252E%2Fx")).status()).toBe(404);
    const after = (await call("GET", `/v1/kv/${victim}`)) as Array<{ Session?: string }>;
    expect(after[0].Session).toBe(victimSession);
    expect(((await call("GET", `/v1/session/info/${victimSession}`)) as unknown[]).length).toBe(1);
  } finally {
    await call("PUT", `/v1/session/destroy/${victimSession}`);
    await call("PUT", `/v1/session/destroy/${holderSession}`);
  }
});
