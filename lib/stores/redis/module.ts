// The Redis store's descriptor (lib/stores/module.ts): config, adapter, settings, texts.

import type { StoreModule } from "../module";
import { RedisAdapter } from "./adapter";
import { RedisConnectionSchema, redisConfigIssue, redisConsistencyOptions, type RedisConnectionConfig } from "./config";
import { holdingIds } from "./release";
import { startRedisDemoWorkload } from "./workload";

export const redis: StoreModule<"redis", RedisConnectionConfig, "delete"> = {
  kind: "redis",
  config: RedisConnectionSchema,
  configIssue: redisConfigIssue,
  open(cfg) {
    const workload = cfg.demoWorkload ? startRedisDemoWorkload(cfg.url) : null;
    workload?.catch((err) => console.error(`lockdeck: demo workload on ${cfg.id} did not start: ${err.message}`));
    return {
      adapter: new RedisAdapter(cfg.id, cfg),
      stop: () => void workload?.then((w) => w.stop()).catch(() => {}),
    };
  },
  shared: true,
  settings: {
    consistency: (c) => c.consistency,
    options: redisConsistencyOptions,
    waitReplicas: (c) => c.waitReplicas,
    apply: (c, s) => ({ ...c, consistency: s.consistency as RedisConnectionConfig["consistency"], waitReplicas: s.waitReplicas ?? c.waitReplicas }),
  },
  releaseModes: ["delete"],
  freeLockModes: {},
  holdingIds: (h) => holdingIds(h),
  warnings: {
    "non-unique-token": {
      short: "non-unique",
      text: 'The holder value is not unique (e.g. "1" or a hostname): a compare-and-delete cannot tell a re-acquisition apart, so a force-release is not exact.',
    },
  },
  views: [],
};
