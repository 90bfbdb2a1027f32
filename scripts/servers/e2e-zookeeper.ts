// The ZooKeeper part of the e2e rig: a real ZooKeeper 3.8 (standalone) and the Curator hold
// program built ahead, so specs only start JVMs. LockDeck watches /locks with sync-then-read.
import { startZooKeeper } from "./zookeeper";
import { prepareCurator } from "../capture/curator/prepare";
import type { E2EStore } from "./e2e-store";

export async function start(): Promise<E2EStore> {
  const [zk, curator] = await Promise.all([startZooKeeper(), prepareCurator()]);
  return {
    connections: [{ id: "zookeeper", kind: "zookeeper", label: "ZooKeeper e2e", connectString: zk.address, roots: ["/locks"] }],
    env: { E2E_ZK_ADDRESS: zk.address, E2E_CURATOR_JAVA: curator.java, E2E_CURATOR_JAR: curator.jar },
    stop: () => zk.stop(),
  };
}
