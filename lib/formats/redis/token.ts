// Plain token locks: one STRING key whose value names the holder, written with
// `SET key token NX PX ttl` (redis.io pattern, node-redlock, go-redsync, go-redis SetNX,
// Spring RedisLockRegistry, ShedLock, python-redis-lock). The layouts differ only in the
// value's shape and the key's prefix, so one decoder guesses the library from those
// (lock-formats.md §1 and §5.1). Pure.

import type { LockRecord } from "../../model";
import type { DecodeContext } from "../types";
import type { RedisEntry } from "./entry";
import { baseRecord } from "./record";
import { escapeControls } from "../../keys";
import { ownerOfValue } from "../owner";
import { NO_HOLDING, tokenHolding } from "../../fence";
import { createHash } from "node:crypto";

interface Guess {
  format: string;
  library?: string;
  owner?: string;
  since?: string;
}

const HEX32 = /^[0-9a-f]{32}$/;
const REDSYNC = /^[A-Za-z0-9+/]{22}==$/;
const PY_REDIS_LOCK = /^[A-Za-z0-9+/]{24}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ShedLock: ADDED:<ISO instant>@<hostname>[:<uuid>] (uuid suffix since 2025)
const SHEDLOCK = /^ADDED:(\d{4}-\d\d-\d\dT[\d:.]+Z)@(.+?)(?::([0-9a-f-]{36}))?$/i;
const CONSTANT_TOKENS = new Set(["1", "0", "true", "yes", "lock", "locked", "held", "on", "x"]);
const LONGEST_CONSTANT = Math.max(...[...CONSTANT_TOKENS].map((t) => t.length));

export const PY_SIGNAL_PREFIX = "lock-signal:";

export function guessLibrary(key: string, value: string): Guess {
  const shed = value.startsWith("ADDED:") ? SHEDLOCK.exec(value) : null;
  if (shed) return { format: "redis.shedlock", library: "ShedLock", owner: shed[2], since: shed[1] };
  if (key.startsWith("lock:") && PY_REDIS_LOCK.test(value)) {
    return { format: "redis.python-redis-lock", library: "python-redis-lock" };
  }
  if (HEX32.test(value)) return { format: "redis.token", library: "node-redlock" };
  if (REDSYNC.test(value)) return { format: "redis.token", library: "go-redsync" };
  if (UUID.test(value)) {
    return { format: "redis.token", library: "Spring RedisLockRegistry", owner: `registry instance ${value}` };
  }
  return { format: "redis.token" };
}

/** A value that cannot tell one holding from the next makes compare-and-delete inexact. */
export function isNonUniqueToken(value: string): boolean {
  // Every constant token is shorter than 8 characters too; the set names what is meant.
  return value.length < 8 || /^\d+$/.test(value) || (value.length <= LONGEST_CONSTANT && CONSTANT_TOKENS.has(value.toLowerCase()));
}

/** The text is the bytes exactly: UTF-8 decoding replaced nothing (so encoding it gives the bytes back). */
function roundTrips(text: string, bytes: Buffer): boolean {
  return Buffer.byteLength(text, "utf8") === bytes.length && !text.includes("\uFFFD");
}

export function decodeToken(ctx: DecodeContext, entry: RedisEntry, byKey: Map<string, RedisEntry>): LockRecord {
  const bytes = entry.value ?? Buffer.alloc(0);
  const text = bytes.toString("utf8");
  const guess = guessLibrary(entry.key, text);
  const id = escapeControls(text.slice(0, 200));
  // A truncated value cannot be compared exactly, so its fence forbids release. The fence holds
  // the value's SHA-1 (compared in the release script with redis.sha1hex), never the value. A
  // value that is its holder id verbatim (most tokens) is kept as that same string and digested
  // only when a fence is made; any other is digested now (its bytes die with the page).
  const holding = entry.truncated
    ? NO_HOLDING
    : id === text && roundTrips(text, bytes)
      ? tokenHolding(id)
      : { t: "string", d: createHash("sha1").update(bytes).digest("hex") };
  const rec = baseRecord(ctx, entry, guess.format, "mutex", holding);
  rec.library = guess.library;
  // A JSON value (a homegrown lock's {"owner":…,"host":…}) is read as its telling fields.
  // sinceObserved / sinceSource: the hub fills them in (first sighting); present from the start,
  // see baseRecord. ShedLock writes its start into the value: recorded in the store (by the
  // holder's clock).
  rec.holders = [
    { id, owner: guess.owner ?? ownerOfValue(text), since: guess.since, sinceObserved: undefined, sinceSource: guess.since ? "store" : undefined },
  ];
  if (isNonUniqueToken(text)) rec.warnings.push("non-unique-token");
  // A Redisson RSemaphore is an integer string too; no structure tells them apart.
  if (/^\d+$/.test(text)) rec.warnings.push("integer-value");
  if (entry.truncated) rec.warnings.push("value-too-large");
  if (guess.format === "redis.python-redis-lock") {
    const name = entry.key.slice("lock:".length);
    rec.name = name;
    const signal = PY_SIGNAL_PREFIX + name;
    if (byKey.has(signal)) rec.relatedKeys = [signal];
  }
  return rec;
}
