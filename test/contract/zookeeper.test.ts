// The adapter contract on a real ZooKeeper: a lock is one ephemeral node (the simple lock:
// its session holds it), taken with a session of its own; an expiring hold's session is cut
// off by a fault proxy until the server expires it. The adapter reaches ZooKeeper through
// another fault proxy.

import { startZooKeeper } from "../../scripts/servers/zookeeper";
import { startFaultProxy, type FaultProxy } from "../../scripts/servers/fault-proxy";
import { CreateMode, ZkSession } from "../../lib/stores/zookeeper/client";
import { adapterContract, openConnection } from "./suite";

const ROOT = "/locks/contract";

adapterContract({
  kind: "zookeeper",
  // The session timeout the holder asks for (ZooKeeper grants 2..20 ticks of 500 ms here).
  storeTtl: { source: "zk-session", remaining: false },
  expiryTtlMs: 2_000,
  scoped: true,
  healthAsks: false,
  cuttable: true,
  async start() {
    const server = await startZooKeeper();
    const proxy = await startFaultProxy(server.port);
    const holderProxies: FaultProxy[] = [];
    const session = async (connectString: string, sessionTimeoutMs: number) => {
      const s = new ZkSession({ connectString, sessionTimeoutMs, auth: [] }, 5_000);
      await s.connected();
      return s;
    };
    const setup = await session(server.address, 10_000);
    for (const path of ["/locks", ROOT]) if (!(await setup.exists(path))) await setup.create(path, Buffer.alloc(0), CreateMode.PERSISTENT);
    return {
      open: () =>
        openConnection({
          kind: "zookeeper",
          connectString: proxy.address,
          roots: [ROOT],
          commandTimeoutMs: 1_000,
          sessionTimeoutMs: 4_000,
          pollIntervalMs: 500,
        }),
      async hold(name, o = {}) {
        // An expiring hold talks through its own proxy, black-holed once it holds: its
        // heartbeats stop reaching the server, which then expires the session.
        const via = o.ttlMs ? await startFaultProxy(server.port) : null;
        if (via) holderProxies.push(via);
        const holder = await session(via ? via.address : server.address, o.ttlMs ?? 10_000);
        await holder.create(`${ROOT}/${name}`, Buffer.from(`contract ${name}`), CreateMode.EPHEMERAL);
        via?.blackhole();
        return { release: async () => holder.close() };
      },
      keyOf: (name) => `${ROOT}/${name}`,
      outOfScope: "/other/contract",
      cut: { down: () => proxy.cut(), up: () => proxy.restore() },
      async stop() {
        setup.close();
        for (const p of holderProxies) await p.close();
        await proxy.close();
        await server.stop();
      },
    };
  },
});
