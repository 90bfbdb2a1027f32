// The Consul store's descriptor (lib/stores/module.ts): config, adapter, settings, texts, the Sessions view.

import type { StoreModule } from "../module";
import { ConsulAdapter } from "./adapter";
import { CONSUL_CONSISTENCY_OPTIONS, ConsulConnectionSchema, type ConsulConnectionConfig } from "./config";
import { holdingIds } from "./release";
import { sessionsApi } from "./sessions-api";

export const consul: StoreModule<"consul", ConsulConnectionConfig, "delete" | "destroy-session"> = {
  kind: "consul",
  config: ConsulConnectionSchema,
  configIssue: () => null,
  open: (cfg) => ({ adapter: new ConsulAdapter(cfg.id, cfg), stop: () => {} }),
  shared: true,
  settings: {
    consistency: (c) => c.consistency,
    options: () => CONSUL_CONSISTENCY_OPTIONS,
    waitReplicas: () => null,
    apply: (c, s) => ({ ...c, consistency: s.consistency as ConsulConnectionConfig["consistency"] }),
  },
  /** delete: a /v1/txn unlock (or a semaphore's eviction) guarded by indexes; destroy-session: the holder's session. */
  releaseModes: ["delete", "destroy-session"],
  freeLockModes: {},
  holdingIds: (h) => holdingIds(h),
  warnings: {
    "holder-node-failing": {
      short: "holder's node failing",
      text: "The holder's Consul session lives on, but a health check on its node is not passing (the session is not bound to it, so Consul keeps the lock): the process holding it may be gone.",
    },
    "semaphore-dead-holder": {
      short: "dead holder entry",
      text: "The semaphore's .lock still names a session that holds no contender key (it ended). It uses no permit: api.Semaphore prunes it on its next acquire or release.",
    },
    "wrong-flags": {
      short: "foreign flags",
      text: "A .lock key whose flags are neither api.Lock's nor api.Semaphore's and that no session holds: not a lock LockDeck can read.",
    },
    unparsable: {
      short: "unparsable",
      text: "The semaphore's .lock value is not the {Limit, Holders} JSON api.Semaphore writes: contenders cannot use it either.",
    },
    "orphan-contender": {
      short: "no .lock",
      text: "An api.Semaphore contender key with no .lock beside it: normal for a moment while the first contender starts, otherwise left over.",
    },
    "over-limit": {
      short: "over limit",
      text: "More live holders than the semaphore's Limit: contenders disagree about the limit.",
    },
  },
  views: [{ path: "sessions", label: "Sessions", api: sessionsApi, page: () => import("./ui/sessions-table").then((m) => m.SessionsTable) }],
};
