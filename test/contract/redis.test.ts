// The adapter contract on a real redis-server: locks are plain SET NX PX tokens (node-redlock's
// layout), the adapter reaches Redis through a fault proxy.

import Redis from "ioredis";
import { randomBytes } from "node:crypto";
import { startRedis } from "../../scripts/servers/redis";
import { startFaultProxy } from "../../scripts/servers/fault-proxy";
import { adapterContract, openConnection } from "./suite";

adapterContract({
  kind: "redis",
  storeTtl: { source: "pttl", remaining: true },
  expiryTtlMs: 1_500,
  scoped: true,
  healthAsks: true,
  cuttable: true,
  async start() {
    const server = await startRedis();
    const proxy = await startFaultProxy(server.port);
    const client = new Redis(server.url);
    const key = (name: string) => `lock:contract:${name}`;
    return {
      // Commands may take 6 s: longer than the slow case's 4 s delay (a client that gives up first has no late answer to wait for).
      open: () =>
        openConnection({ kind: "redis", url: `redis://${proxy.address}`, patterns: ["lock:contract:*"], commandTimeoutMs: 6_000, pollIntervalMs: 500 }),
      async hold(name, o = {}) {
        const token = randomBytes(16).toString("hex");
        const ok = await client.set(key(name), token, "PX", o.ttlMs ?? 60_000, "NX");
        if (ok !== "OK") throw new Error(`${key(name)} is taken`);
        return {
          release: async () =>
            void (await client.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, key(name), token)),
        };
      },
      keyOf: key,
      outOfScope: "other:contract",
      cut: { down: () => proxy.cut(), up: () => proxy.restore() },
      slow: { on: (ms) => proxy.delay(ms, "down"), off: () => proxy.restore() },
      async stop() {
        client.disconnect();
        await proxy.close();
        await server.stop();
      },
    };
  },
});
