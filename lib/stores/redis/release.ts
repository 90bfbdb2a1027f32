// Conditional force-release (reliability.md §2.1): a Lua script deletes the key only while it
// still holds exactly what the operator saw, and wakes waiters the library's own way in the
// same step (Redisson PUBLISH; on a cluster also SPUBLISH, as Redisson on Redis ≥ 7 cluster
// waits on sharded pub/sub). Scripts touch one key, so Redis Cluster routes them by it.
// Script answers: 1 deleted · 0 holding differs · -1 no longer this type · -2 key gone.

import type { FenceHolding } from "../../fence";

export const RELEASE_STRING = `
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return -2 end
if t ~= 'string' then return -1 end
if redis.sha1hex(redis.call('GET', KEYS[1])) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`;

// ARGV: channel, message, sharded ("1" on a cluster), n, then n field/value pairs. Every field
// must match and no other field may exist, so a re-entrant re-acquire (count changed) or a new
// holder is refused. Sharded: the wake-up also goes out by SPUBLISH where the node has it
// (redis.REDIS_VERSION_NUM exists from 7.0, as SPUBLISH does); Redisson's channel carries the
// lock name's hash tag, so it is in the key's slot, on this node.
export const RELEASE_HASH = `
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return -2 end
if t ~= 'hash' then return -1 end
local n = tonumber(ARGV[4])
if redis.call('HLEN', KEYS[1]) ~= n then return 0 end
for i = 0, n - 1 do
  if redis.call('HGET', KEYS[1], ARGV[5 + 2 * i]) ~= ARGV[6 + 2 * i] then return 0 end
end
redis.call('DEL', KEYS[1])
if ARGV[1] ~= '' then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  if ARGV[3] == '1' and (redis.REDIS_VERSION_NUM or 0) >= 0x070000 then redis.call('SPUBLISH', ARGV[1], ARGV[2]) end
end
return 1`;

export type ScriptCall = { script: "string" | "hash"; args: Array<string | Buffer> };

/**
 * Turns a fence holding into the script call that checks it; null when it can't be checked.
 * `sharded`: the connection is a Redis Cluster (waiters may be on sharded pub/sub).
 */
export function scriptFor(holding: FenceHolding, sharded = false): ScriptCall | null {
  if (holding.t === "string" && typeof holding.d === "string" && /^[0-9a-f]{40}$/.test(holding.d)) {
    return { script: "string", args: [holding.d] };
  }
  if (holding.t === "hash" && typeof holding.fields === "string") {
    const fields = JSON.parse(holding.fields) as Array<[string, string]>;
    const flat = fields.flatMap(([f, v]) => [f, v]);
    return { script: "hash", args: [String(holding.ch ?? ""), String(holding.msg ?? "0"), sharded ? "1" : "", String(fields.length), ...flat] };
  }
  return null;
}

/** The redis-cli line an operator could run by hand for the same conditional delete. */
export function cliCommand(key: string, call: ScriptCall | null): string {
  if (!call) return "(no conditional delete exists for this layout)";
  const script = (call.script === "string" ? RELEASE_STRING : RELEASE_HASH).trim().replace(/\s*\n\s*/g, " ");
  const args = call.args.map((a) => shellQuote(typeof a === "string" ? a : a.toString("utf8")));
  return `redis-cli EVAL ${shellQuote(script)} 1 ${shellQuote(key)} ${args.join(" ")}`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:{}@=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What names the holding in a fence, to tell after an unknown outcome whether it is still
 * there: the token value's digest, or the Redisson holder fields (the release deletes the whole hash,
 * so a hash that still has one of them was not deleted). [] when there is nothing exact.
 */
export function holdingIds(holding: FenceHolding): string[] {
  if (holding.t === "string" && typeof holding.d === "string") return [`d:${holding.d}`];
  if (holding.t === "hash" && typeof holding.fields === "string") {
    return (JSON.parse(holding.fields) as Array<[string, string]>).map(([f]) => `f:${f}`);
  }
  return [];
}
