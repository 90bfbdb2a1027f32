// A whole-tree dump for fixtures (scripts/capture/dump-zookeeper.ts): every znode under a root,
// listed and read without the adapter's limits, sorted by path. Not used by the adapter.

import type { ZkFixtureNode } from "../../formats/zookeeper/entry";
import { isEphemeral, joinPath, nodeToFixture, type ZkNode } from "../../formats/zookeeper/entry";
import { ZK, ZkError, ZkSession } from "./client";

export async function dumpTree(connectString: string, root: string): Promise<ZkFixtureNode[]> {
  const s = new ZkSession({ connectString, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
  try {
    await s.connected();
    await s.sync(root);
    const out: ZkNode[] = [];
    const walk = async (path: string): Promise<void> => {
      let read;
      try {
        read = await s.getData(path);
      } catch (err) {
        if (err instanceof ZkError && err.code === ZK.NO_NODE) return;
        throw err;
      }
      const node: ZkNode = { path, stat: read.stat, data: read.data, listed: false };
      out.push(node);
      if (isEphemeral(read.stat)) return;
      const { children } = await s.getChildren(path);
      node.listed = true;
      await Promise.all(children.map((c) => walk(joinPath(path, c))));
    };
    await walk(root);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map(nodeToFixture);
  } finally {
    s.close();
  }
}
