// The store registry: one line per store kind. Each kind's client library stays in its folder.

import type { ReleaseMode, StoreAdapter, StoreKind } from "../model";
import type { FenceHolding } from "../fence";
import { holdingIds as redisHoldingIds } from "./redis/release";
import { holdingIds as etcdHoldingIds } from "./etcd/release";
import { holdingIds as zookeeperHoldingIds } from "./zookeeper/release";
import { holdingIds as consulHoldingIds } from "./consul/release";
import type { ConnectionConfig } from "../config";
import { RedisAdapter } from "./redis/adapter";
import { ZooKeeperAdapter } from "./zookeeper/adapter";
import { ConsulAdapter } from "./consul/adapter";
import { EtcdAdapter } from "./etcd/adapter";
import { MemoryAdapter } from "./memory/adapter";
import { MemoryLockStore } from "./memory/store";
import { startWorkload } from "../demo/workload";
import { startRedisDemoWorkload } from "./redis/workload";

export interface OpenedConnection {
  adapter: StoreAdapter;
  /** Extra things to stop with the connection (demo workload, in-process store timers). */
  stop(): void;
}

export function openConnection(cfg: ConnectionConfig): OpenedConnection {
  switch (cfg.kind) {
    case "redis": {
      const workload = cfg.demoWorkload ? startRedisDemoWorkload(cfg.url) : null;
      workload?.catch((err) => console.error(`lockdeck: demo workload on ${cfg.id} did not start: ${err.message}`));
      return {
        adapter: new RedisAdapter(cfg.id, cfg),
        stop: () => void workload?.then((w) => w.stop()).catch(() => {}),
      };
    }
    case "consul":
      return { adapter: new ConsulAdapter(cfg.id, cfg), stop: () => {} };
    case "etcd":
      return { adapter: new EtcdAdapter(cfg.id, cfg), stop: () => {} };
    case "zookeeper":
      return { adapter: new ZooKeeperAdapter(cfg.id, cfg), stop: () => {} };
    case "memory": {
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
    }
  }
}

/**
 * The ids that name a holding in a fence of this store kind (a token value, a create
 * revision, a czxid, a session and LockIndex). A holding is still there when a fresh record's
 * fence shares one of them; after an unknown outcome that tells "not applied" from "gone".
 */
export function holdingIds(kind: StoreKind, holding: FenceHolding, mode: ReleaseMode): string[] {
  switch (kind) {
    case "redis":
      return redisHoldingIds(holding);
    case "etcd":
      return etcdHoldingIds(holding);
    case "zookeeper":
      return zookeeperHoldingIds(holding, mode);
    case "consul":
      return consulHoldingIds(holding);
    case "memory":
      return typeof holding.token === "number" ? [`t:${holding.token}`] : [];
  }
}
