// The ZooKeeper store's descriptor (lib/stores/module.ts): config, adapter, settings, texts.

import type { StoreModule } from "../module";
import { ZooKeeperAdapter } from "./adapter";
import { ZOOKEEPER_CONSISTENCY_OPTIONS, ZooKeeperConnectionSchema, type ZooKeeperConnectionConfig } from "./config";
import { holdingIds } from "./release";

export const zookeeper: StoreModule<"zookeeper", ZooKeeperConnectionConfig, "delete" | "ask-holder" | "prune-empty"> = {
  kind: "zookeeper",
  config: ZooKeeperConnectionSchema,
  configIssue: () => null,
  open: (cfg) => ({ adapter: new ZooKeeperAdapter(cfg.id, cfg), stop: () => {} }),
  shared: true,
  settings: {
    consistency: (c) => c.consistency,
    options: () => ZOOKEEPER_CONSISTENCY_OPTIONS,
    waitReplicas: () => null,
    apply: (c, s) => ({ ...c, consistency: s.consistency as ZooKeeperConnectionConfig["consistency"] }),
  },
  /**
   * delete: delete(path, version) of the holder node(s); ask-holder: write Curator's revoke
   * marker to a revocable holder's node (nothing is deleted); prune-empty: delete an empty lock
   * parent node (and empty ancestors), version-checked — the one mode offered on a free lock.
   */
  releaseModes: ["delete", "ask-holder", "prune-empty"],
  freeLockModes: { "prune-empty": "Prune empty parent" },
  holdingIds,
  warnings: {
    "holder-disconnected": {
      short: "holder disconnected",
      text: "No ZooKeeper server has a connection for the holder's session (from each server's cons): the client is gone or cut off, and the lock stays held until the session times out.",
    },
    revocable: {
      short: "revocable",
      text: "The Curator holder made this lock revocable: LockDeck can ask it to release (Curator's __REVOKE__ marker) instead of deleting its node.",
    },
    "binary-node-data": {
      short: "binary data",
      text: "A contender's node data is not text: it is shown as hex, and the owner cannot be named from it.",
    },
    "max-leases-unknown": {
      short: "max leases unknown",
      text: "Curator's InterProcessSemaphoreV2 keeps maxLeases in its clients only: LockDeck cannot say how many leases are free.",
    },
    "one-session-several-leases": {
      short: "one session, several leases",
      text: "One ZooKeeper session has several leases of this semaphore: threads of one client (one CuratorFramework) share its session, and ZooKeeper cannot tell them apart. A lease that session made after its locks/ node is the one it waits with; its older leases are held, and a release deletes those, not the waiting one.",
    },
    "empty-lock-parent": {
      short: "empty parent",
      text: "A lock directory that no contender uses any more (Curator and kazoo leave them behind): it can be pruned, and only while it is still empty.",
    },
    "mixed-recipes": {
      short: "mixed recipes",
      text: "Lock nodes of different libraries share this directory; each library ignores the other's nodes, so both may believe they hold the lock.",
    },
    "unparsed-lock-nodes": {
      short: "unparsed nodes",
      text: "The children look like lock nodes but none parses as a known recipe: nothing exact to release.",
    },
  },
  views: [],
};
