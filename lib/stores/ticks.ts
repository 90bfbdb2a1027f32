// Periodic checks beside a store's change feed, for facts no key change reports (an etcd lease
// nobody renews, a ZooKeeper session whose client left, a failing check on a Consul session's
// node): `tick` runs every everyMs while the feed is followed — never two at once — and the
// lock keys it returns are handed to the feed, so the hub re-reads those locks.

export function startTicks(tick: (signal: AbortSignal) => Promise<string[]>, everyMs: number, signal: AbortSignal, add: (keys: string[]) => void): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || signal.aborted) return;
    busy = true;
    tick(signal)
      .then((keys) => {
        if (keys.length && !signal.aborted) add(keys);
      })
      .catch(() => {}) // a failed check changes nothing; the next one tries again
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
