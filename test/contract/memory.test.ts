// The adapter contract on the embedded store: the same MemoryLockStore the demo runs, in this
// process (so it cannot be cut off: that case does not apply).

import { MemoryAdapter } from "../../lib/stores/memory/adapter";
import { MemoryLockStore } from "../../lib/stores/memory/store";
import { CONNECTION, adapterContract } from "./suite";

adapterContract({
  kind: "memory",
  storeTtl: { source: "lease", remaining: true },
  expiryTtlMs: 500,
  scoped: false,
  healthAsks: false,
  cuttable: false,
  async start() {
    const store = new MemoryLockStore();
    store.start();
    return {
      open: () => ({ adapter: new MemoryAdapter(CONNECTION, store), stop: () => {} }),
      async hold(name, o = {}) {
        const r = store.acquire(name, { owner: `contract ${name}`, ttlMs: o.ttlMs ?? null, waitMs: 0 });
        if (r.status !== "acquired") throw new Error(`${name} is taken`);
        return { release: async () => void store.release(name, r.holding.holderId) };
      },
      keyOf: (name) => name,
      async stop() {
        store.stop();
      },
    };
  },
});
