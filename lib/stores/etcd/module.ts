// The etcd store's descriptor (lib/stores/module.ts): config, adapter, settings, texts, the Leases view.

import type { StoreModule } from "../module";
import { EtcdAdapter } from "./adapter";
import { ETCD_CONSISTENCY_OPTIONS, EtcdConnectionSchema, type EtcdConnectionConfig } from "./config";
import { leasesApi } from "./leases-page";
import { holdingIds } from "./release";

export const etcd: StoreModule<"etcd", EtcdConnectionConfig, "delete" | "revoke-lease"> = {
  kind: "etcd",
  config: EtcdConnectionSchema,
  configIssue: () => null,
  open: (cfg) => ({ adapter: new EtcdAdapter(cfg.id, cfg), stop: () => {} }),
  shared: true,
  settings: {
    consistency: (c) => c.consistency,
    options: () => ETCD_CONSISTENCY_OPTIONS,
    waitReplicas: () => null,
    apply: (c, s) => ({ ...c, consistency: s.consistency as EtcdConnectionConfig["consistency"] }),
  },
  /** delete: a txn delete of the holder key, guarded by its revisions; revoke-lease: LeaseRevoke of the holder's lease. */
  releaseModes: ["delete", "revoke-lease"],
  freeLockModes: {},
  holdingIds: (h) => holdingIds(h),
  warnings: {
    "lease-ttl-unknown": {
      short: "TTL unknown",
      text: "etcd did not answer LeaseTimeToLive for the holder's lease (it needs the leader), so the remaining TTL is unknown, not infinite.",
    },
    "foreign-key": {
      short: "foreign key in queue",
      text: "A key under this lock's prefix does not follow the lock layout (its name is not its lease id), yet the library's queue orders it like a waiter.",
    },
    "foreign-holder": {
      short: "foreign holder",
      text: "The key at the head of the queue does not follow the lock layout: it blocks every waiter, and LockDeck will not release it (delete it by hand if it is debris).",
    },
    "no-lease": {
      short: "no lease",
      text: "A key under a lock prefix with no lease: no etcd lock library writes one, and nothing would ever expire it.",
    },
    "not-a-lock-layout": {
      short: "not a lock",
      text: "A key under a lock prefix that does not match any lock layout LockDeck knows; shown so it is not hidden, never released.",
    },
  },
  views: [{ path: "leases", label: "Leases", api: leasesApi, page: () => import("./ui/leases-view").then((m) => m.LeasesView) }],
};
