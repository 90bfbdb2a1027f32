// Pure and small: the lock page (a client component) and the alerts both say it.

/**
 * What a cycle through session-level owners cannot say: LockDeck tells sessions (ZooKeeper,
 * Consul) and leases (etcd) apart, not the threads sharing one, and a thread that holds without
 * waiting can still let go. Null when every owner is one client thread (Redisson, the memory store).
 */
export function sharedSessionCaveat(owners: readonly string[]): string | null {
  if (!owners.some((o) => o.startsWith("session:") || o.startsWith("lease:"))) return null;
  return "a deadlock if no session (or lease) on it is shared by several threads: LockDeck tells sessions apart, not threads, and a thread that holds without waiting can still let go";
}
