// The embedded store's descriptor (lib/stores/module.ts): an in-process MemoryLockStore, with
// the demo workload running against it unless the config says not to.

import type { StoreModule } from "../module";
import { startWorkload } from "../../demo/workload";
import { MemoryAdapter } from "./adapter";
import { MemoryConnectionSchema, type MemoryConnectionConfig } from "./config";
import { MemoryLockStore } from "./store";

export const memory: StoreModule<"memory", MemoryConnectionConfig, "delete"> = {
  kind: "memory",
  config: MemoryConnectionSchema,
  configIssue: () => null,
  open(cfg) {
    const store = new MemoryLockStore();
    store.start();
    const workload = cfg.workload ? startWorkload(store, { seed: cfg.seed }) : null;
    return {
      adapter: new MemoryAdapter(cfg.id, store),
      stop: () => {
        workload?.stop();
        store.stop();
      },
    };
  },
  // It lives in each process: there is nothing to share between replicas.
  shared: false,
  settings: {
    consistency: () => "linearizable",
    options: () => [{ value: "linearizable", label: "In-process", description: "The embedded store answers from memory: always current." }],
    waitReplicas: () => null,
    // One read mode: nothing to reopen.
    apply: () => null,
  },
  releaseModes: ["delete"],
  freeLockModes: {},
  holdingIds: (h) => (typeof h.token === "number" ? [`t:${h.token}`] : []),
  warnings: {},
  views: [],
};
