// The etcd part of the e2e rig: a real single-member etcd; LockDeck reads locks under "e2e/"
// (and etcd3's "election/" namespace), checking holders' leases every second.
import { startEtcd } from "./etcd";
import type { E2EStore } from "./e2e-store";

export async function start(): Promise<E2EStore> {
  const etcd = await startEtcd();
  return {
    connections: [{ id: "etcd", kind: "etcd", label: "etcd e2e", endpoints: [etcd.endpoint], prefixes: ["e2e/", "election/"], leaseCheckMs: 1_000 }],
    env: { E2E_ETCD_ENDPOINT: etcd.endpoint },
    stop: () => etcd.stop(),
  };
}
