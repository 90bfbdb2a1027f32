// The Redis part of the e2e rig: a real redis-server with its default config (no keyspace
// events, as most production servers run: the console follows it by client tracking), and a
// second one for outage drills (e2e/truth.spec.ts pauses it with CLIENT PAUSE; its connection
// times out after 1 s so the console sees the outage at once).
import { startRedis } from "./redis";
import type { E2EStore } from "./e2e-store";

export async function start(): Promise<E2EStore> {
  const [redis, outage] = await Promise.all([startRedis(), startRedis({ notifyKeyspaceEvents: "KA" })]);
  return {
    connections: [
      { id: "redis", kind: "redis", label: "Redis e2e", url: redis.url, notifications: "use" },
      { id: "redis-outage", kind: "redis", label: "Redis outage drills", url: outage.url, notifications: "use", commandTimeoutMs: 1_000 },
    ],
    env: { E2E_REDIS_URL: redis.url, E2E_OUTAGE_REDIS_URL: outage.url },
    stop: async () => {
      await Promise.all([redis.stop(), outage.stop()]);
    },
  };
}
