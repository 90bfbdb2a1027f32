// The adapter contract on a real Consul agent: a lock is a key acquired by a session with
// behavior "delete" (the session's end deletes it), over Consul's HTTP API; the adapter reaches
// the agent through a fault proxy. The agent allows 1 s session TTLs for the expiry case.

import { startConsul } from "../../scripts/servers/consul";
import { startFaultProxy } from "../../scripts/servers/fault-proxy";
import { kv } from "../../scripts/capture/consul/dump";
import { adapterContract, openConnection } from "./suite";

const PREFIX = "locks/contract/";
adapterContract({
  kind: "consul",
  // The agent's session_ttl_min is lowered to 1 s; Consul invalidates up to 2 × TTL later.
  storeTtl: { source: "session", remaining: false },
  expiryTtlMs: 1_000,
  scoped: true,
  healthAsks: true,
  cuttable: true,
  // A cold build of the agent (scripts/servers/build-consul.sh) takes minutes; then it is cached.
  startTimeoutMs: 45 * 60_000,
  async start() {
    const agent = await startConsul({ hcl: 'session_ttl_min = "1s"' });
    const proxy = await startFaultProxy(Number(new URL(agent.url).port));
    return {
      open: () => openConnection({ kind: "consul", url: proxy.endpoint, prefixes: [PREFIX], requestTimeoutMs: 1_000, pollIntervalMs: 500, blockingWaitSec: 5 }),
      async hold(name, o = {}) {
        const body = { Name: `contract ${name}`, Behavior: "delete", LockDelay: "0s", ...(o.ttlMs ? { TTL: `${Math.ceil(o.ttlMs / 1000)}s` } : {}) };
        const session = (JSON.parse(await kv(agent, "PUT", "/v1/session/create", JSON.stringify(body))) as { ID: string }).ID;
        const ok = (await kv(agent, "PUT", `/v1/kv/${PREFIX}${name}?acquire=${session}`, `contract ${name}`)).trim() === "true";
        if (!ok) throw new Error(`${PREFIX}${name} is taken`);
        return { release: async () => void (await kv(agent, "PUT", `/v1/session/destroy/${session}`)) };
      },
      keyOf: (name) => `${PREFIX}${name}`,
      outOfScope: "other/contract",
      cut: { down: () => proxy.cut(), up: () => proxy.restore() },
      slow: { on: (ms) => proxy.delay(ms, "down"), off: () => proxy.restore() },
      async stop() {
        await proxy.close();
        await agent.stop();
      },
    };
  },
});
