// The Redis live feed against a DEFAULT redis-server (no notify-keyspace-events, as most
// production servers run): client tracking carries new locks and changes, the expiry clock
// brings expiries, start-up reads the keyspace once, and a firehose falls back to polling.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { startRedis, type RedisServer } from "../../../scripts/servers/redis";
import { waitFor } from "../../../scripts/servers/process";
import { RedisAdapter } from "./adapter";
import { RedisConnectionSchema } from "./config";
import { trackingPrefixes } from "./tracking";
import { TRACKING_MAX_KEYS_PER_SEC } from "./live";
import { Hub } from "../../hub/hub";
import { EventBus, type SequencedEvent } from "../../hub/bus";

function hubFor(url: string, extra: Record<string, unknown> = {}) {
  const bus = new EventBus();
  const events: Array<SequencedEvent & { at: number }> = [];
  bus.subscribe((e) => events.push({ ...e, at: Date.now() }));
  // Polling would take 60 s and a re-list 10 min: whatever arrives sooner came by the feed.
  const cfg = RedisConnectionSchema.parse({ id: "r1", kind: "redis", url, pollIntervalMs: 60_000, ...extra });
  const hub = new Hub("r1", new RedisAdapter("r1", cfg), bus, { healthIntervalMs: 60_000, resyncIntervalMs: 10 * 60_000 });
  return { hub, events };
}

async function commandCalls(redis: Redis, cmd: string): Promise<number> {
  const info = await redis.info("commandstats");
  return Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, "m").exec(info)?.[1] ?? 0);
}

const live = (hub: Hub) => waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 15_000, what: "the hub live" });

describe("tracking prefixes from patterns", () => {
  it("uses the literal text before the first wildcard, plus the helper keys; a leading wildcard tracks everything", () => {
    expect(trackingPrefixes(["lock:*", "job-lock:*", "lock:orders:*"])).toEqual([
      "job-lock:",
      "lock-signal:",
      "lock:",
      "redisson_lock_queue:",
      "redisson_lock_timeout:",
      "redisson_lock_token:",
    ]);
    expect(trackingPrefixes(["\\*lit:*"])).toContain("*lit:");
    expect(trackingPrefixes(["lock:*", "*mutex*"])).toBeNull();
  });
});

describe("live feed on a default redis-server (no keyspace events)", () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    expect((await redis.config("GET", "notify-keyspace-events"))[1]).toBe("");
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it("goes live by client tracking after ONE read of the keyspace; a new lock and an expiry arrive promptly", async () => {
    await redis.flushall();
    // 20k locks with long TTLs: Redis's own expiry cycle samples ~20 keys per tick, so it would
    // take minutes to notice one expired key among them. The expiry clock must not wait for it.
    const p = redis.pipeline();
    for (let i = 0; i < 20_000; i++) p.set(`bulk:lock:${i}`, `tok-${i}-0123456789`, "EX", 3600);
    await p.exec();
    const pttlBefore = await commandCalls(redis, "pttl");
    const { hub, events } = hubFor(server.url);
    hub.start();
    try {
      await live(hub);
      expect(hub.statusEvent().feed).toMatch(/^client tracking/);
      expect(hub.statusEvent().lockCount).toBe(20_000);
      // One full read at start-up: one PTTL per key (not two passes).
      expect((await commandCalls(redis, "pttl")) - pttlBefore).toBe(20_000);

      const wrote = Date.now();
      await redis.set("orders:lock:new", "tok-new-0123456789", "PX", 600);
      await waitFor(async () => events.some((e) => e.type === "upsert" && e.data.lock.key === "orders:lock:new"), {
        timeoutMs: 5_000,
        what: "the new lock's upsert",
      });
      const upsertAt = events.find((e) => e.type === "upsert" && e.data.lock.key === "orders:lock:new")!.at;
      expect(upsertAt - wrote).toBeLessThan(1_000);
      await waitFor(async () => events.some((e) => e.type === "remove" && e.data.key === "orders:lock:new"), {
        timeoutMs: 10_000,
        what: "the expiry's remove",
      });
      const removedAt = events.find((e) => e.type === "remove" && e.data.key === "orders:lock:new")!.at;
      // Due at wrote + 600 ms; polling would take 60 s and Redis's sampling minutes.
      expect(removedAt - (wrote + 600)).toBeLessThan(1_500);
      expect(await redis.exists("orders:lock:new")).toBe(0);
    } finally {
      await hub.stop();
    }
  });

  it("with prefix patterns tracks only those prefixes, and misses no write made while it starts", async () => {
    await redis.flushall();
    await redis.set("lock:a", "tok-a-0123456789", "EX", 3600);
    const { hub, events } = hubFor(server.url, { patterns: ["lock:*"] });
    hub.start();
    // Writes while the hub subscribes and reads: each lands before, during or after the snapshot.
    for (let i = 0; i < 10; i++) {
      await redis.set(`lock:during:${i}`, `tok-${i}-0123456789`, "EX", 3600);
      await new Promise((r) => setTimeout(r, 15));
    }
    try {
      await live(hub);
      expect(hub.statusEvent().feed).toMatch(/^client tracking \(prefixes .*lock:/);
      await waitFor(async () => hub.statusEvent().lockCount === 11, { timeoutMs: 3_000, what: "every lock written during start-up" });
      await redis.set("other:lock:x", "tok-x-0123456789");
      await redis.set("lock:b", "tok-b-0123456789");
      await waitFor(async () => hub.get("lock:b") !== undefined, { timeoutMs: 3_000, what: "lock:b" });
      expect(hub.get("other:lock:x")).toBeUndefined(); // not under the patterns
      await redis.del("lock:a");
      await waitFor(async () => events.some((e) => e.type === "remove" && e.data.key === "lock:a"), { timeoutMs: 3_000, what: "the delete's remove" });
    } finally {
      await hub.stop();
    }
  });

  it("falls back to polling, saying why, when tracking every key would cost too much", async () => {
    await redis.flushall();
    const { hub } = hubFor(server.url, { pollIntervalMs: 500 });
    hub.start();
    try {
      await live(hub);
      expect(hub.statusEvent().feed).toBe("client tracking (all keys, filtered by pattern)");
      // A burst of writes to keys that are not locks: each one is an invalidation message.
      const p = redis.pipeline();
      for (let i = 0; i < TRACKING_MAX_KEYS_PER_SEC * 1.5; i++) p.set(`cache:${i}`, "x");
      await p.exec();
      await waitFor(async () => hub.statusEvent().mode === "polling" && /client tracking sent more than/.test(hub.statusEvent().message), {
        timeoutMs: 10_000,
        what: "polling after the firehose, saying why",
      });
      expect(hub.statusEvent().message).toMatch(/client tracking sent more than .* polling instead; keyspace events are off/);
      await redis.set("orders:lock:later", "tok-later-0123456789");
      await waitFor(async () => hub.get("orders:lock:later") !== undefined, { timeoutMs: 5_000, what: "a lock seen by polling" });
    } finally {
      await hub.stop();
    }
  });
});
