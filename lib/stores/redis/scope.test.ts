// Scope on Redis, against a real redis-server: a release or a read by key acts only on lock
// keys the connection's patterns match. Fences here are signed with this process's key, as if
// a decoder had a bug: the adapter's own checks must still refuse, and Redis must see nothing
// (checked with ioredis and INFO commandstats).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { startRedis, type RedisServer } from "../../../scripts/servers/redis";
import { RedisAdapter } from "./adapter";
import { RedisConnectionSchema } from "./config";
import { createHash } from "node:crypto";
import { aimedView } from "../../../test/support/aimed";

const signal = new AbortController().signal;

describe("Redis scope", () => {
  let server: RedisServer;
  let client: Redis;
  let adapter: RedisAdapter;

  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
    adapter = new RedisAdapter("r1", RedisConnectionSchema.parse({ id: "r1", kind: "redis", url: server.url, patterns: ["lock:*"], notifications: "off" }));
  });
  afterAll(async () => {
    await adapter.close();
    client.disconnect();
    await server.stop();
  });

  async function calls(...commands: string[]): Promise<number> {
    const stats = await client.info("commandstats");
    return commands.reduce((n, c) => n + Number(new RegExp(`cmdstat_${c}:calls=(\\d+)`).exec(stats)?.[1] ?? 0), 0);
  }

  const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

  const aimedAt = (key: string, holding: Record<string, string | number | null>) => aimedView("r1", key, "redis.token", holding, "none");

  it("names what is out of scope, and helper keys are never lock keys", () => {
    expect(adapter.keyProblem("lock:orders")).toBeNull();
    expect(adapter.keyProblem("session:admin")).toMatchObject({ code: "out_of_scope", message: expect.stringMatching(/^key: "session:admin" .*lock:\*/) });
    expect(adapter.keyProblem("redisson_lock_queue:{lock:orders}")?.code).toBe("out_of_scope");
    expect(adapter.keyProblem("lock-signal:x")?.code).toBe("out_of_scope");
  });

  it("a fence aimed at a key outside the patterns deletes nothing and sends nothing", async () => {
    await client.set("session:admin", "secret-session");
    const before = await calls("eval", "evalsha", "del");
    const out = await adapter.forceRelease(aimedAt("session:admin", { t: "string", d: sha1("secret-session") }), "delete", signal);
    expect(out).toMatchObject({ status: "refused", reason: expect.stringMatching(/not a lock key of this connection.*nothing was sent/) });
    expect(await client.get("session:admin")).toBe("secret-session");
    expect(await calls("eval", "evalsha", "del")).toBe(before);
  });

  it("a Redisson fence may only wake the lock's own channel", async () => {
    await client.hset("lock:h", "0b7e3b6c-9c1e-4c55-9f53-4d2c9b8d1a11:1", "1");
    const before = await calls("eval", "evalsha", "publish");
    const out = await adapter.forceRelease(
      aimedAt("lock:h", { t: "hash", fields: JSON.stringify([["0b7e3b6c-9c1e-4c55-9f53-4d2c9b8d1a11:1", "1"]]), ch: "payments:commands", msg: "0" }),
      "delete",
      signal,
    );
    expect(out).toMatchObject({ status: "refused", reason: expect.stringMatching(/channel "payments:commands"/) });
    expect(await client.exists("lock:h")).toBe(1);
    expect(await calls("eval", "evalsha", "publish")).toBe(before);
  });

  it("an edited fence is refused before anything is read from it", async () => {
    await client.set("lock:e", "tok-e-0123456789");
    const genuine = aimedAt("lock:e", { t: "string", d: sha1("tok-e-0123456789") });
    const [payload, mac] = genuine.fence.split(".");
    const body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    body.k = "session:admin";
    const forged = { ...genuine, key: "session:admin", fence: `${Buffer.from(JSON.stringify(body)).toString("base64url")}.${mac}` };
    const before = await calls("eval", "evalsha");
    expect(await adapter.forceRelease(forged, "delete", signal)).toMatchObject({ status: "refused", reason: expect.stringMatching(/^fence: signature/) });
    expect(await calls("eval", "evalsha")).toBe(before);
    expect(await client.get("session:admin")).toBe("secret-session");
    // The genuine fence still works: the check is about the fence, not about the lock.
    expect((await adapter.forceRelease(genuine, "delete", signal)).status).toBe("released");
  });

  it("a read by key outside the patterns reaches nothing", async () => {
    const before = await calls("getrange", "get", "type", "pttl");
    const { locks } = await adapter.reread(["session:admin", "redisson_lock_queue:{session:admin}"], signal);
    expect(locks).toEqual([]);
    expect(await calls("getrange", "get", "type", "pttl")).toBe(before);
  });
});
