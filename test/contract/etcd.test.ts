// The adapter contract on a real etcd member: locks in the Go concurrency.Mutex layout
// (<prefix><name>/<lease id in hex>, empty value, on the holder's lease), taken with the npm
// etcd3 client; the adapter reaches etcd through a fault proxy.

import { Etcd3 } from "etcd3";
import { startEtcd } from "../../scripts/servers/etcd";
import { startFaultProxy } from "../../scripts/servers/fault-proxy";
import { adapterContract, openConnection } from "./suite";

const PREFIX = "/locks/contract/";

adapterContract({
  kind: "etcd",
  // etcd's smallest lease TTL with the default election timeout is about 1.5 s (rounded up to 2).
  storeTtl: { source: "lease", remaining: true },
  expiryTtlMs: 2_000,
  scoped: true,
  healthAsks: true,
  cuttable: true,
  async start() {
    const server = await startEtcd();
    const proxy = await startFaultProxy(server.clientPort);
    const client = new Etcd3({ hosts: server.endpoint });
    return {
      open: () => openConnection({ kind: "etcd", endpoints: [proxy.endpoint], prefixes: [PREFIX], requestTimeoutMs: 1_000, pollIntervalMs: 500 }),
      async hold(name, o = {}) {
        // An expiring hold gets no keep-alive: nobody renews it, so etcd ends the lease.
        const lease = client.lease(o.ttlMs ? Math.ceil(o.ttlMs / 1000) : 30, { autoKeepAlive: !o.ttlMs });
        lease.on("lost", () => {});
        const id = await lease.grant();
        await lease.put(`${PREFIX}${name}/${BigInt(id).toString(16)}`).value("");
        return { release: () => lease.revoke().catch(() => undefined) };
      },
      keyOf: (name) => `${PREFIX}${name}/`,
      outOfScope: "/other/contract/",
      cut: { down: () => proxy.cut(), up: () => proxy.restore() },
      slow: { on: (ms) => proxy.delay(ms, "down"), off: () => proxy.restore() },
      async stop() {
        client.close();
        await proxy.close();
        await server.stop();
      },
    };
  },
});
