// Test support for the ZooKeeper e2e specs: a fresh lock directory under /locks.
import { CreateMode, type ZkSession } from "../lib/stores/zookeeper/client";

/**
 * Creates `path` (a lock directory under /locks). /locks may be a Curator container that the
 * server reaps once empty, even between our exists() and create(): (re)create it as needed.
 */
export async function createLockDir(zk: ZkSession, path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!(await zk.exists("/locks"))) await zk.create("/locks", Buffer.alloc(0), CreateMode.PERSISTENT);
      await zk.create(path, Buffer.alloc(0), CreateMode.PERSISTENT);
      return;
    } catch (err) {
      if (attempt > 3) throw err;
    }
  }
}
