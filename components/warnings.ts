// Warnings a decoder or the hub attaches to a LockRecord, in words an on-call engineer can act on.

const WARNINGS: Record<string, { short: string; text: string }> = {
  "no-expiry": {
    short: "no expiry",
    text: "The lock has no TTL: if its holder died, nothing will ever release it.",
  },
  "non-unique-token": {
    short: "non-unique",
    text: "The holder value is not unique (e.g. \"1\" or a hostname): a compare-and-delete cannot tell a re-acquisition apart, so a force-release is not exact.",
  },
  "holder-session-dead": {
    short: "session dead",
    text: "The holder's session or lease is gone or failing its checks; the lock outlived the process that took it.",
  },
  "not-renewed": {
    short: "not renewed",
    text: "The TTL has not been renewed when a watchdog or keep-alive should have done so: the holder may be paused or dead.",
  },
  "held-too-long": {
    short: "held too long",
    text: "Held for longer than this connection's stale rule allows (staleRules.heldLongerThanMs).",
  },
  "waiter-too-long": {
    short: "waiting too long",
    text: "A waiter has been queued for longer than this connection's stale rule allows (staleRules.waiterOlderThanMs).",
  },
  // Wait-for graph (lib/waits) and holder liveness (lib/stores/<kind>)
  deadlock: {
    short: "deadlock",
    text: "This lock is on a cycle of waits: its holder waits (directly or down a chain) for a lock held by one of its own waiters. Nobody on the cycle moves until one of them is stopped or a lock on it is force-released. The Waits tab shows the cycle.",
  },
  "holder-node-failing": {
    short: "holder's node failing",
    text: "The holder's Consul session lives on, but a health check on its node is not passing (the session is not bound to it, so Consul keeps the lock): the process holding it may be gone.",
  },
  "holder-disconnected": {
    short: "holder disconnected",
    text: "No ZooKeeper server has a connection for the holder's session (from each server's cons): the client is gone or cut off, and the lock stays held until the session times out.",
  },
  "lease-expired": {
    short: "lease expired",
    text: "The holder's lease has expired but the store still shows the key.",
  },
  // etcd (lib/formats/etcd)
  "lease-ttl-unknown": {
    short: "TTL unknown",
    text: "etcd did not answer LeaseTimeToLive for the holder's lease (it needs the leader), so the remaining TTL is unknown, not infinite.",
  },
  "foreign-key": {
    short: "foreign key in queue",
    text: "A key under this lock's prefix does not follow the lock layout (its name is not its lease id), yet the library's queue orders it like a waiter.",
  },
  "foreign-holder": {
    short: "foreign holder",
    text: "The key at the head of the queue does not follow the lock layout: it blocks every waiter, and LockDeck will not release it (delete it by hand if it is debris).",
  },
  "no-lease": {
    short: "no lease",
    text: "A key under a lock prefix with no lease: no etcd lock library writes one, and nothing would ever expire it.",
  },
  "not-a-lock-layout": {
    short: "not a lock",
    text: "A key under a lock prefix that does not match any lock layout LockDeck knows; shown so it is not hidden, never released.",
  },
  // ZooKeeper (lib/formats/zookeeper)
  revocable: {
    short: "revocable",
    text: "The Curator holder made this lock revocable: LockDeck can ask it to release (Curator's __REVOKE__ marker) instead of deleting its node.",
  },
  "binary-node-data": {
    short: "binary data",
    text: "A contender's node data is not text: it is shown as hex, and the owner cannot be named from it.",
  },
  "max-leases-unknown": {
    short: "max leases unknown",
    text: "Curator's InterProcessSemaphoreV2 keeps maxLeases in its clients only: LockDeck cannot say how many leases are free.",
  },
  "empty-lock-parent": {
    short: "empty parent",
    text: "A lock directory that no contender uses any more (Curator and kazoo leave them behind): it can be pruned, and only while it is still empty.",
  },
  "mixed-recipes": {
    short: "mixed recipes",
    text: "Lock nodes of different libraries share this directory; each library ignores the other's nodes, so both may believe they hold the lock.",
  },
  "unparsed-lock-nodes": {
    short: "unparsed nodes",
    text: "The children look like lock nodes but none parses as a known recipe: nothing exact to release.",
  },
  // Consul
  "semaphore-dead-holder": {
    short: "dead holder entry",
    text: "The semaphore's .lock still names a session that holds no contender key (it ended). It uses no permit: api.Semaphore prunes it on its next acquire or release.",
  },
  "wrong-flags": {
    short: "foreign flags",
    text: "A .lock key whose flags are neither api.Lock's nor api.Semaphore's and that no session holds: not a lock LockDeck can read.",
  },
  "unparsable": {
    short: "unparsable",
    text: "The semaphore's .lock value is not the {Limit, Holders} JSON api.Semaphore writes: contenders cannot use it either.",
  },
  "orphan-contender": {
    short: "no .lock",
    text: "An api.Semaphore contender key with no .lock beside it: normal for a moment while the first contender starts, otherwise left over.",
  },
  "over-limit": {
    short: "over limit",
    text: "More live holders than the semaphore's Limit: contenders disagree about the limit.",
  },
};

/** KNOWN_WARNINGS lists the warnings the filter offers even before any row shows them. */
export const KNOWN_WARNINGS = Object.keys(WARNINGS);

/** describeWarning returns a short label and a sentence for a warning id (unknown ids pass through). */
export function describeWarning(id: string): { short: string; text: string } {
  return WARNINGS[id] ?? { short: id, text: id.replace(/-/g, " ") };
}
