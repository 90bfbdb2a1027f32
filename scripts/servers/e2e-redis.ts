// The Redis part of the e2e rig: a real redis-server with keyspace events on.
import { startRedis } from "./redis";
import type { E2EStore } from "./e2e-store";

export async function start(): Promise<E2EStore> {
  const redis = await startRedis({ notifyKeyspaceEvents: "KA" });
  return {
    connections: [{ id: "redis", kind: "redis", label: "Redis e2e", url: redis.url, notifications: "use" }],
    env: { E2E_REDIS_URL: redis.url },
    stop: () => redis.stop(),
  };
}
