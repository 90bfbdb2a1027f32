// Building blocks shared by the Redis decoders. Pure.

import type { Holding, LockKind, LockRecord, Waiter } from "../../model";
import type { DecodeContext } from "../types";
import type { RedisEntry } from "./entry";
import { NO_HOLDING } from "../../fence";
import { previewBytes, previewText } from "../preview";

export function ttlOf(entry: RedisEntry): number | null {
  // PTTL: -1 = no expiry. -2 (gone) never reaches a decoder: the adapter drops vanished keys.
  return entry.pttl >= 0 ? entry.pttl : null;
}

/** Shared by every record without waiters (most): records are replaced, never mutated in place. */
const NO_WAITERS = Object.freeze([]) as unknown as Waiter[];

/**
 * Every field a Redis decoder may set is in this literal from the start, so V8 keeps them all
 * inside the object (a field added later costs a separate property array: ~40 bytes a record).
 */
export function baseRecord(ctx: DecodeContext, entry: RedisEntry, format: string, kind: LockKind, holding: Holding): LockRecord {
  const ttlMs = ttlOf(entry);
  return {
    connection: ctx.connection,
    key: entry.key,
    name: entry.key,
    format,
    kind,
    state: "held",
    library: undefined,
    holders: [],
    waiters: NO_WAITERS,
    ttlMs,
    ttlSource: ttlMs === null ? "none" : "pttl",
    holding,
    observedAt: ctx.observedAtIso ?? new Date(ctx.now).toISOString(),
    consistency: ctx.consistency,
    warnings: ttlMs === null ? ["no-expiry"] : [],
    relatedKeys: undefined,
    permitsFree: undefined,
    fencingToken: undefined,
    raw: ctx.previews ? [preview(entry)] : undefined,
  };
}

/** A key under a lock pattern that LockDeck cannot read as a lock: shown, never released. */
export function unknownRecord(ctx: DecodeContext, entry: RedisEntry, warning: string): LockRecord {
  const rec = baseRecord(ctx, entry, "redis.unknown", "mutex", NO_HOLDING);
  rec.state = "unknown";
  rec.warnings = [warning];
  return rec;
}

export function preview(entry: RedisEntry) {
  const { key, type, size, truncated } = entry;
  if (entry.value) return previewBytes(key, type, entry.value, size, truncated);
  if (entry.hash) {
    const obj = Object.fromEntries(entry.hash.map(([f, v]) => [f, v.toString("utf8")]));
    return { ...previewText(key, type, JSON.stringify(obj), size, truncated), encoding: "json" as const };
  }
  if (entry.list) return previewText(key, type, JSON.stringify(entry.list.map((b) => b.toString("utf8"))), size, truncated);
  if (entry.zset) {
    const pairs = entry.zset.map(([m, s]) => [m.toString("hex"), s]);
    return previewText(key, type, JSON.stringify(pairs), size, truncated);
  }
  return previewText(key, type, "", size, truncated);
}
