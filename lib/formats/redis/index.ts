// The Redis decoder: groups the entries read under a connection's lock patterns into locks.
// Structure first (Redisson hashes and their helper keys), then plain token strings, then
// anything left under a lock pattern becomes an "unknown" record with the reason. Pure.
//
// It decodes while pages stream in (RedisDecoder.push): a plain token string (nearly every lock
// key) needs no other key, so it becomes a record at once and its bytes can go. Whatever may
// depend on another key — hashes, lists, sorted sets, helper keys, integer strings (a Redisson
// semaphore counter looks for its {name}:timeout set) — waits for finish(), which sees them all.

import type { LockRecord, Problem } from "../../model";
import type { DecodeContext, DecodeResult } from "../types";
import type { RedisEntry } from "./entry";
import { decodePermitSemaphore, decodeRedissonHash, decodeSemaphore, isHelperKey, mayBeCounter, type EntryIndex } from "./redisson";
import { PY_SIGNAL_PREFIX, decodeToken } from "./token";
import { unknownRecord } from "./record";
import { RW_TIMEOUT_HEAD, namesFromSuffixed } from "./names";

export const REDIS_FORMATS = [
  "redis.token",
  "redis.python-redis-lock",
  "redis.shedlock",
  "redisson.lock",
  "redisson.fair",
  "redisson.fenced",
  "redisson.rwlock",
  "redisson.semaphore",
  "redisson.permit-semaphore",
  "redis.unknown",
];

const NO_ENTRIES = new Map<string, RedisEntry>();

export class RedisDecoder {
  private readonly ctx: DecodeContext & { observedAtIso: string };
  private readonly locks: LockRecord[] = [];
  /** Entries that may need another key to decode; decoded by finish(). */
  private readonly pending: RedisEntry[] = [];
  /** python-redis-lock records decoded early: their signal list may come in a later page. */
  private readonly pythonLocks: LockRecord[] = [];

  constructor(context: DecodeContext) {
    this.ctx = { ...context, observedAtIso: context.observedAtIso ?? new Date(context.now).toISOString() };
  }

  /** Decodes what it can of one page now; keeps the rest for finish(). */
  push(entries: Iterable<RedisEntry>): void {
    for (const e of entries) {
      if (e.type !== "string" || isHelperKey(e.key) || mayBeCounter(e)) {
        this.pending.push(e);
        continue;
      }
      const rec = decodeToken(this.ctx, e, NO_ENTRIES);
      this.locks.push(rec);
      if (rec.format === "redis.python-redis-lock") this.pythonLocks.push(rec);
    }
  }

  finish(): DecodeResult {
    const { ctx, locks, pending } = this;
    const index = indexEntries(pending);
    const { byKey } = index;
    const claimed = new Set<string>();
    const problems: Problem[] = [];
    const add = (rec: LockRecord) => {
      locks.push(rec);
      claimed.add(rec.key);
      for (const k of rec.relatedKeys ?? []) claimed.add(k);
    };
    for (const rec of this.pythonLocks) {
      const signal = PY_SIGNAL_PREFIX + rec.name;
      if (byKey.has(signal)) rec.relatedKeys = [signal];
    }
    for (const e of pending) {
      if (e.type !== "hash") continue;
      const rec = decodeRedissonHash(ctx, e, index);
      if (rec) add(rec);
    }
    for (const e of pending) {
      if (e.type !== "string" || claimed.has(e.key) || isHelperKey(e.key)) continue;
      add(decodePermitSemaphore(ctx, e, byKey) ?? decodeSemaphore(ctx, e) ?? decodeToken(ctx, e, byKey));
    }
    for (const e of pending) {
      if (claimed.has(e.key) || isHelperKey(e.key) || isPermitTimeout(e, byKey)) continue;
      const reason = e.type === "hash" ? "unrecognised-hash" : "wrong-type";
      add(unknownRecord(ctx, e, reason));
      problems.push({
        key: e.key,
        code: reason,
        message:
          e.type === "hash"
            ? "a hash under a lock pattern without Redisson's field layout"
            : `a ${e.type} under a lock pattern: no lock library here writes this type`,
      });
    }
    return { locks, problems };
  }
}

/** Decodes a whole read at once (a re-read of a few locks, tests): the same as push + finish. */
export function decodeRedis(entries: RedisEntry[], context: DecodeContext): DecodeResult {
  const d = new RedisDecoder(context);
  d.push(entries);
  return d.finish();
}

/** Lookups the structural decoders need; the read-lock timeout keys are grouped by their lock. */
function indexEntries(entries: RedisEntry[]): EntryIndex {
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const rw = new Map<string, RedisEntry[]>();
  for (const e of entries) {
    const head = RW_TIMEOUT_HEAD.exec(e.key)?.[1];
    if (head !== undefined) rw.set(head, [...(rw.get(head) ?? []), e]);
  }
  return { byKey, rwTimeouts: (head) => rw.get(head) ?? [] };
}

function isPermitTimeout(e: RedisEntry, byKey: Map<string, RedisEntry>): boolean {
  return e.type === "zset" && namesFromSuffixed(e.key, "timeout").some((name) => byKey.has(name));
}
