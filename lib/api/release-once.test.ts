// One confirmation, one release, against a real Redis: a confirmation's repeat gets its first
// answer; a holding released and taken again with the same token (host:pid) is released again
// from a view read after the release, and refused, with why, from one read before; a lock that
// expired before the release is not called released.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { waitFor } from "../../scripts/servers/process";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import { requestRelease } from "./release";
import { lockDetail } from "./detail";
import type { Actor } from "../auth/guard";
import { fenceOf } from "../fence";

const ana: Actor = { name: "ana", role: "operator", method: "session" };
const bo: Actor = { name: "bo", role: "operator", method: "session" };

describe("one confirmation, one release", () => {
  let server: RedisServer;
  let client: Redis;
  let reg: Registry;

  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
    reg = new Registry(
      ConfigSchema.parse({
        connections: [{ id: "plain", kind: "redis", url: server.url, pollIntervalMs: 500, notifications: "off" }],
        auth: { releaseRateLimit: { max: 100, perSeconds: 60 } },
        dataDir: mkdtempSync(path.join(tmpdir(), "ld-once-")),
      }),
    );
  });
  afterAll(async () => {
    for (const c of reg.connections.values()) await c.hub.stop();
    client.disconnect();
    await server.stop();
  });

  async function seen(key: string) {
    await waitFor(async () => reg.get("plain").hub.get(key) !== undefined, { timeoutMs: 5_000, what: `plain sees ${key}` });
    return reg.get("plain").hub.get(key)!;
  }

  it("two POSTs of one confirmation at once: one attempt at the store, both answered 'released'", async () => {
    await client.set("lock:twice", "tok-twice-0123456789", "PX", 60_000);
    const lock = await seen("lock:twice");
    const requestId = "0d5f7a52-6a4e-4c51-9d0b-7f4a0c3e9b21";
    const body = { key: lock.key, fence: fenceOf(lock), reason: "double-click", mode: "delete" as const, requestId, seenAt: lock.observedAt };
    const [a, b] = await Promise.all([requestRelease(reg, "plain", body, ana), requestRelease(reg, "plain", body, ana)]);
    expect(a.kind === "done" && a.outcome.status).toBe("released");
    expect(b).toEqual(a);
    expect(await client.exists("lock:twice")).toBe(0);
    expect(reg.audit.read({ key: "lock:twice" }).filter((e) => e.phase === "intent")).toHaveLength(1);
  });

  it("the same token taken again after a release: released from a view read after it, refused (and told why) from one read before", async () => {
    const token = "billing-worker-7:31337";
    await client.set("lock:again", token, "PX", 60_000);
    const before = await seen("lock:again");
    const body = { key: before.key, fence: fenceOf(before), reason: "stuck", mode: "delete" as const };
    const first = await requestRelease(reg, "plain", { ...body, seenAt: before.observedAt }, ana);
    expect(first.kind === "done" && first.outcome.status).toBe("released");
    // The app re-takes it with the same token: the same holding identity, the same fence.
    await client.set("lock:again", token, "PX", 60_000);
    const hub = reg.get("plain").hub;
    await waitFor(async () => hub.get("lock:again") !== undefined && Date.parse(hub.get("lock:again")!.observedAt) > Date.parse(before.observedAt), {
      timeoutMs: 5_000,
      what: "the hub sees lock:again taken again",
    });
    const again = (await lockDetail(reg.get("plain"), "lock:again"))!.lock;
    expect(again.fence).toBe(body.fence);
    // A confirmation from the view read before the release (another operator's dialog): refused, nothing sent.
    const stale = await requestRelease(reg, "plain", { ...body, seenAt: before.observedAt }, bo);
    expect(stale.kind === "done" && stale.outcome.status).toBe("changed");
    expect(stale.kind === "done" && stale.note).toMatch(/already released at .* after your view was read .* a new holding you have not seen; re-read the lock/);
    expect(await client.get("lock:again")).toBe(token);
    // From the view read after it: a new confirmation of what holds it now.
    const second = await requestRelease(reg, "plain", { ...body, seenAt: again.observedAt }, bo);
    expect(second.kind === "done" && second.outcome.status).toBe("released");
    expect(await client.exists("lock:again")).toBe(0);
  });

  it("a lock that expired before the release is not called released: gone, nothing deleted", async () => {
    await client.set("lock:expires", "tok-expires-0123456789", "PX", 1_500);
    const lock = await seen("lock:expires");
    const hub = reg.get("plain").hub;
    await waitFor(async () => hub.get("lock:expires") === undefined, { timeoutMs: 10_000, what: "lock:expires gone" });
    const done = await requestRelease(
      reg,
      "plain",
      { key: lock.key, fence: fenceOf(lock), reason: "expired meanwhile", mode: "delete", seenAt: lock.observedAt },
      ana,
    );
    expect(done.kind === "done" && done.outcome.status).toBe("gone");
    const note = done.kind === "done" ? done.note : "";
    expect(note).toMatch(/^the lock is gone — (expired at .*its TTL ran out|it expired or was released since your view was read): nothing was deleted$/);
    expect(note).not.toMatch(/already released/);
  });
});
