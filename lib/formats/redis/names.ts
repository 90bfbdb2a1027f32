// Redisson derives its helper keys from the lock name (RedissonObject.prefixName/suffixName):
//   prefixName(p, name) = p + ":{" + name + "}"   or p + ":" + name when name already has "{"
//   suffixName(name, s) = "{" + name + "}:" + s   or name + ":" + s when name already has "{"
// These helpers go both ways so a decoder can find a lock's helpers and a helper's lock.

export function prefixName(prefix: string, name: string): string {
  return name.includes("{") ? `${prefix}:${name}` : `${prefix}:{${name}}`;
}

export function suffixName(name: string, suffix: string): string {
  return name.includes("{") ? `${name}:${suffix}` : `{${name}}:${suffix}`;
}

/** The lock names a prefixed helper key may belong to (both spellings, most likely first). */
export function namesFromPrefixed(prefix: string, key: string): string[] {
  if (!key.startsWith(prefix + ":")) return [];
  const rest = key.slice(prefix.length + 1);
  const names: string[] = [];
  if (rest.startsWith("{") && rest.endsWith("}")) {
    const inner = rest.slice(1, -1);
    if (!inner.includes("{")) names.push(inner);
  }
  if (rest.includes("{")) names.push(rest);
  return names;
}

export const REDISSON = {
  queue: "redisson_lock_queue",
  timeout: "redisson_lock_timeout",
  token: "redisson_lock_token",
  lockChannel: "redisson_lock__channel",
  rwChannel: "redisson_rwlock",
  semaphoreChannel: "redisson_sc",
  unlockLatch: "redisson_unlock_latch",
} as const;

/** A Redisson holder field: client UUID + ":" + thread id, ":write" for a write-lock holder. */
export const REDISSON_FIELD = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(\d+)(:write)?$/;

/** Read-lock timeout keys: {name}:<uuid>:<tid>:rwlock_timeout:<n> (or name:... when name has "{"). */
export const RW_TIMEOUT = /^(.*):[0-9a-f-]{36}:\d+:rwlock_timeout:\d+$/;

/** The same keys split as [, head ("{name}:" or "name:"), holder field]. */
export const RW_TIMEOUT_HEAD = /^(.*:)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:\d+(?::write)?):rwlock_timeout:\d+$/;

/** Inverse of suffixName for a known suffix: the lock name candidates. */
export function namesFromSuffixed(key: string, suffix: string): string[] {
  const tail = ":" + suffix;
  if (!key.endsWith(tail)) return [];
  const head = key.slice(0, -tail.length);
  const names: string[] = [];
  if (head.startsWith("{") && head.endsWith("}") && !head.slice(1, -1).includes("{")) names.push(head.slice(1, -1));
  if (head.includes("{")) names.push(head);
  return names;
}
