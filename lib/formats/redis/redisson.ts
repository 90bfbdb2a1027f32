// Redisson locks (lock-formats.md §1.5), recognised by structure, not by name:
//   RLock / FencedLock / FairLock: HASH <name> { "<uuid>:<tid>": reentrancy }
//     FairLock adds LIST redisson_lock_queue:{name} (FIFO) + ZSET redisson_lock_timeout:{name}
//     (deadline epoch ms per waiter); FencedLock adds STRING redisson_lock_token:{name}.
//   ReadWriteLock: HASH <name> { mode: read|write, "<uuid>:<tid>": n, "<uuid>:<tid>:write": n }
//   PermitExpirableSemaphore: STRING <name> (free permits) + ZSET {name}:timeout of raw
//     16-byte permit ids scored by expiry epoch ms (922337203685477 = never).
//   RSemaphore: STRING <name> (free permits); holders are not recorded anywhere.
// Pure.

import type { Holder, LockRecord, Waiter } from "../../model";
import type { DecodeContext } from "../types";
import type { RedisEntry } from "./entry";
import { baseRecord, preview } from "./record";
import { REDISSON, REDISSON_FIELD, RW_TIMEOUT_HEAD, prefixName, suffixName } from "./names";

/** What the structural decoders look up besides the entry itself. */
export interface EntryIndex {
  byKey: Map<string, RedisEntry>;
  /** Read-lock timeout entries whose key starts with this head ("{name}:" or "name:"). */
  rwTimeouts(head: string): RedisEntry[];
}

const NON_EXPIRING_PERMIT = 922337203685477;

/** Decodes a HASH if it has Redisson's lock shape; null when it does not. */
export function decodeRedissonHash(ctx: DecodeContext, entry: RedisEntry, index: EntryIndex): LockRecord | null {
  const { byKey } = index;
  const fields = entry.hash ?? [];
  const mode = fields.find(([f]) => f === "mode")?.[1].toString("utf8");
  const holders = fields.filter(([f]) => f !== "mode");
  if (holders.length === 0 || !holders.every(([f]) => REDISSON_FIELD.test(f))) return null;
  if (mode !== undefined && mode !== "read" && mode !== "write") return null;

  const name = entry.key;
  const queueKey = prefixName(REDISSON.queue, name);
  const timeoutKey = prefixName(REDISSON.timeout, name);
  const tokenKey = prefixName(REDISSON.token, name);
  const queue = byKey.get(queueKey);
  const timeouts = byKey.get(timeoutKey);
  const token = byKey.get(tokenKey);

  let format = "redisson.lock";
  let channel = prefixName(REDISSON.lockChannel, name);
  let message = "0";
  if (mode !== undefined) {
    format = "redisson.rwlock";
    channel = prefixName(REDISSON.rwChannel, name);
    // Redisson's write unlock publishes READ_UNLOCK_MESSAGE (1): every local waiter wakes.
    message = "1";
  } else if (queue || timeouts) {
    format = "redisson.fair";
  } else if (token) {
    format = "redisson.fenced";
  }

  const waiters = format === "redisson.fair" ? fairWaiters(queue, timeouts, ctx.now) : [];
  // A fair lock wakes only its queue head, on the head's own channel.
  if (format === "redisson.fair" && waiters[0]) channel = `${channel}:${waiters[0].id}`;

  const exact = JSON.stringify(fields.map(([f, v]) => [f, v.toString("utf8")]).sort());
  const rec = baseRecord(ctx, entry, format, mode !== undefined ? "rwlock" : "mutex", {
    t: "hash",
    fields: exact,
    ch: channel,
    msg: message,
  });
  rec.library = "Redisson";
  rec.holders = holders.map(([field, count]) => holderOf(field, count, mode));
  if (mode === "write") rec.holders.sort((a, b) => Number(b.id.endsWith(":write")) - Number(a.id.endsWith(":write")));
  rec.waiters = waiters;
  const related = [queue, timeouts, token].filter((e): e is RedisEntry => e !== undefined);
  if (mode !== undefined) related.push(...rwTimeoutKeys(name, new Set(holders.map(([f]) => f)), index));
  if (related.length) rec.relatedKeys = related.map((e) => e.key);
  if (ctx.previews) rec.raw = [preview(entry), ...related.map(preview)];
  if (token?.value) rec.fencingToken = token.value.toString("utf8");
  return rec;
}

function holderOf(field: string, count: Buffer, mode: string | undefined): Holder {
  const m = REDISSON_FIELD.exec(field)!;
  const role = mode === undefined ? "" : m[3] ? " (writer)" : " (reader)";
  return {
    id: field,
    owner: `Redisson client ${m[1]} thread ${m[2]}${role}`,
    ownerKey: redissonOwnerKey(m),
    reentrancy: Number.parseInt(count.toString("utf8"), 10),
  };
}

/**
 * A Redisson lock belongs to a thread of a client (the hash field and the fair queue entry are
 * both "<uuid>:<tid>"): the same thread holding one lock and queued on another is one owner.
 * A writer's ":write" suffix is the role, not another owner.
 */
function redissonOwnerKey(m: RegExpExecArray): string {
  return `redisson:${m[1]}:${m[2]}`;
}

/** Queue order from the LIST; deadlines from the ZSET. Entries past their deadline are left out. */
function fairWaiters(queue: RedisEntry | undefined, timeouts: RedisEntry | undefined, now: number): Waiter[] {
  const deadlines = new Map((timeouts?.zset ?? []).map(([m, s]) => [m.toString("utf8"), s]));
  const ids = (queue?.list ?? []).map((b) => b.toString("utf8"));
  const waiters: Waiter[] = [];
  for (const id of ids) {
    const deadline = deadlines.get(id);
    if (deadline !== undefined && deadline <= now) continue;
    const m = REDISSON_FIELD.exec(id);
    waiters.push({
      id,
      position: waiters.length + 1,
      deadline: deadline === undefined ? undefined : new Date(deadline).toISOString(),
      owner: m ? `Redisson client ${m[1]} thread ${m[2]}` : undefined,
      ownerKey: m ? redissonOwnerKey(m) : undefined,
    });
  }
  return waiters;
}

/** The read-timeout keys of the CURRENT readers only: a released reader's key may linger until its TTL. */
function rwTimeoutKeys(name: string, fields: Set<string>, index: EntryIndex): RedisEntry[] {
  const head = name.includes("{") ? name + ":" : `{${name}}:`;
  return index.rwTimeouts(head).filter((e) => fields.has(RW_TIMEOUT_HEAD.exec(e.key)![2]));
}

const INTEGER = /^-?\d+$/;

/** A short integer string: a Redisson semaphore's counter, or a token that happens to be a number. */
export function mayBeCounter(entry: RedisEntry): boolean {
  return entry.value !== undefined && entry.value.length <= 20 && INTEGER.test(entry.value.toString("latin1"));
}

/** PermitExpirableSemaphore (counter + {name}:timeout ZSET), or null. */
export function decodePermitSemaphore(ctx: DecodeContext, entry: RedisEntry, byKey: Map<string, RedisEntry>): LockRecord | null {
  // Cheapest test first: nearly every string under a lock pattern is a token, not a counter.
  const free = entry.value && entry.value.length <= 20 ? entry.value.toString("latin1") : "";
  if (!INTEGER.test(free)) return null;
  const timeout = byKey.get(suffixName(entry.key, "timeout"));
  if (!timeout || timeout.type !== "zset") return null;
  const permits = (timeout.zset ?? []).filter(([, expiry]) => expiry > ctx.now);
  const rec = baseRecord(ctx, entry, "redisson.permit-semaphore", "semaphore", { t: "none" });
  rec.library = "Redisson";
  rec.permitsFree = Number.parseInt(free, 10);
  rec.state = permits.length > 0 ? "held" : "free";
  // A semaphore without a TTL is normal: its permits carry their own deadlines.
  rec.warnings = rec.warnings.filter((w) => w !== "no-expiry");
  rec.holders = permits.map(([id, expiry]) => ({
    id: id.toString("hex"),
    owner: "permit id",
    expiresAt: expiry >= NON_EXPIRING_PERMIT ? undefined : new Date(expiry).toISOString(),
  }));
  rec.relatedKeys = [timeout.key];
  if (ctx.previews) rec.raw = [preview(entry), preview(timeout)];
  return rec;
}

/** RSemaphore: an integer under a semaphore-looking name. Who holds permits is not recorded. */
export function decodeSemaphore(ctx: DecodeContext, entry: RedisEntry): LockRecord | null {
  const free = entry.value && entry.value.length <= 20 ? entry.value.toString("latin1") : "";
  if (!INTEGER.test(free) || !/semaphore|permit/i.test(entry.key)) return null;
  const rec = baseRecord(ctx, entry, "redisson.semaphore", "semaphore", { t: "none" });
  rec.library = "Redisson";
  rec.permitsFree = Number.parseInt(free, 10);
  rec.warnings = ["holders-not-recorded"];
  return rec;
}

/** Keys Redisson and python-redis-lock write beside a lock; they belong to the lock, not on their own. */
export function isHelperKey(key: string): boolean {
  return (
    key.startsWith(REDISSON.queue + ":") ||
    key.startsWith(REDISSON.timeout + ":") ||
    key.startsWith(REDISSON.token + ":") ||
    key.startsWith(REDISSON.unlockLatch + ":") ||
    key.startsWith("lock-signal:") ||
    key.includes(":rwlock_timeout:")
  );
}
