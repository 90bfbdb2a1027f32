// The Consul part of the e2e rig: a real `consul agent -dev` (built by build-consul.sh) and
// the connection LockDeck gets for it. The specs run `consul lock` from the same binary.
import { startConsul } from "./consul";
import type { E2EStore } from "./e2e-store";

export async function start(): Promise<E2EStore> {
  const consul = await startConsul();
  return {
    connections: [{ id: "consul", kind: "consul", label: "Consul e2e", url: consul.url, prefixes: ["e2e/"], blockingWaitSec: 30 }],
    env: { E2E_CONSUL_URL: consul.url, E2E_CONSUL_ADDR: consul.addr, E2E_CONSUL_BIN: consul.bin },
    stop: () => consul.stop(),
  };
}
