// Which lock a changed key belongs to, and which keys to read to decode that lock again.
// Mirrors the helper-key layouts in lib/formats/redis (Redisson, python-redis-lock).

import { REDISSON, RW_TIMEOUT, namesFromPrefixed, namesFromSuffixed, prefixName, suffixName } from "../../formats/redis/names";

export function lockKeysFor(changed: string[]): string[] {
  const out = new Set<string>();
  for (const key of changed) {
    if (key.startsWith(REDISSON.unlockLatch + ":")) continue;
    const prefixed = [REDISSON.queue, REDISSON.timeout, REDISSON.token].flatMap((p) => namesFromPrefixed(p, key));
    if (prefixed.length) prefixed.forEach((n) => out.add(n));
    else if (key.startsWith("lock-signal:")) out.add("lock:" + key.slice("lock-signal:".length));
    else if (RW_TIMEOUT.test(key)) namesFromSuffixed(key.replace(/:[0-9a-f-]{36}:\d+:rwlock_timeout:\d+$/, ":x"), "x").forEach((n) => out.add(n));
    else {
      out.add(key);
      namesFromSuffixed(key, "timeout").forEach((n) => out.add(n));
    }
  }
  return [...out];
}

export function readSetFor(lockKeys: string[]): string[] {
  const out = new Set<string>();
  for (const name of lockKeys) {
    out.add(name);
    out.add(prefixName(REDISSON.queue, name));
    out.add(prefixName(REDISSON.timeout, name));
    out.add(prefixName(REDISSON.token, name));
    out.add(suffixName(name, "timeout"));
    if (name.startsWith("lock:")) out.add("lock-signal:" + name.slice("lock:".length));
  }
  return [...out];
}
