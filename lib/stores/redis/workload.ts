// The demo workload pointed at a real Redis (npm run demo -- --target redis://…). The workload
// itself lives in lib/demo; this folder only supplies ioredis connections for it.

import "server-only";
import Redis from "ioredis";
import { startRedisWorkload } from "../../demo/redis-workload";

export function startRedisDemoWorkload(url: string) {
  return startRedisWorkload(url, {
    connect: (u) => {
      const client = new Redis(u, { maxRetriesPerRequest: 2 });
      client.on("error", () => {});
      return client;
    },
    onError: () => {},
  });
}
