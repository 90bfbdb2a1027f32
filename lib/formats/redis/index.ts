// The Redis decoder: groups the entries read under a connection's lock patterns into locks.
// Structure first (Redisson hashes and their helper keys), then plain token strings, then
// anything left under a lock pattern becomes an "unknown" record with the reason. Pure.

import type { LockRecord, Problem } from "../../model";
import type { DecodeContext, DecodeResult } from "../types";
import type { RedisEntry } from "./entry";
import { decodePermitSemaphore, decodeRedissonHash, decodeSemaphore, isHelperKey } from "./redisson";
import { decodeToken } from "./token";
import { unknownRecord } from "./record";
import { namesFromSuffixed } from "./names";

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

export function decodeRedis(entries: RedisEntry[], context: DecodeContext): DecodeResult {
  const ctx = { ...context, observedAtIso: new Date(context.now).toISOString() };
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const claimed = new Set<string>();
  const locks: LockRecord[] = [];
  const problems: Problem[] = [];

  const add = (rec: LockRecord) => {
    locks.push(rec);
    claimed.add(rec.key);
    for (const k of rec.relatedKeys ?? []) claimed.add(k);
  };

  for (const e of entries) if (e.type === "hash") {
    const rec = decodeRedissonHash(ctx, e, byKey);
    if (rec) add(rec);
  }
  for (const e of entries) {
    if (e.type !== "string" || claimed.has(e.key) || isHelperKey(e.key)) continue;
    add(decodePermitSemaphore(ctx, e, byKey) ?? decodeSemaphore(ctx, e) ?? decodeToken(ctx, e, byKey));
  }
  for (const e of entries) {
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

function isPermitTimeout(e: RedisEntry, byKey: Map<string, RedisEntry>): boolean {
  return e.type === "zset" && namesFromSuffixed(e.key, "timeout").some((name) => byKey.has(name));
}
