#!/usr/bin/env node
// Dumps every key of a Redis database into a RedisFixture JSON file
// (the format of lib/formats/redis/entry.ts), so decoder tests can replay exactly
// what a real lock library wrote.
//
//   node scripts/capture/dump-redis.mjs <redis-url> <out.json> \
//        --library X --version V --scenario S --program P
//
// Binary-safe: keys, hash fields, values, list items and zset members are read as
// Buffers. Each key is read by one Lua script so TYPE, PTTL, size and content are one
// atomic snapshot (some lock keys, like python-redis-lock's signal list, live ~1 s).
import { writeFileSync } from "node:fs";
import Redis from "ioredis";

const KEY_PREFIX = "base64:";

// Same rule as lib/keys.ts keyFromBytes (duplicated: this is plain .mjs, no TS loader).
function keyFromBytes(bytes) {
  const text = bytes.toString("utf8");
  if (!text.startsWith(KEY_PREFIX) && Buffer.from(text, "utf8").equals(bytes)) return text;
  return KEY_PREFIX + bytes.toString("base64");
}

// Same rule as lib/formats/redis/entry.ts bytesToJson.
function bytesToJson(b) {
  const text = b.toString("utf8");
  return Buffer.from(text, "utf8").equals(b) ? text : { base64: b.toString("base64") };
}

// Redis scores are doubles printed as text; "inf"/"-inf" have no JSON number, so clamp.
function scoreFromBytes(b) {
  const s = b.toString("utf8");
  if (s === "inf" || s === "+inf") return Number.MAX_VALUE;
  if (s === "-inf") return -Number.MAX_VALUE;
  return Number(s);
}

// Returns {type, pttl, size, items}; items is the flat content array (or the value).
// Types other than the four lock libraries use are reported with their size only.
const READ_KEY = `
local k = KEYS[1]
local t = redis.call('TYPE', k).ok
local p = redis.call('PTTL', k)
if t == 'string' then
  return {t, p, redis.call('STRLEN', k), {redis.call('GET', k)}}
elseif t == 'hash' then
  return {t, p, redis.call('HLEN', k), redis.call('HGETALL', k)}
elseif t == 'list' then
  return {t, p, redis.call('LLEN', k), redis.call('LRANGE', k, 0, -1)}
elseif t == 'zset' then
  return {t, p, redis.call('ZCARD', k), redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')}
elseif t == 'set' then
  return {t, p, redis.call('SCARD', k), {}}
elseif t == 'stream' then
  return {t, p, redis.call('XLEN', k), {}}
end
return {t, p, 0, {}}
`;

function parseArgs(argv) {
  const [url, out, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i]?.replace(/^--/, "");
    if (!["library", "version", "scenario", "program"].includes(name) || rest[i + 1] === undefined) {
      throw new Error(`bad option ${rest[i]}`);
    }
    opts[name] = rest[i + 1];
  }
  if (!url || !out) throw new Error("usage: dump-redis.mjs <redis-url> <out.json> --library X --version V --scenario S --program P");
  return { url, out, opts };
}

async function scanAll(redis) {
  const keys = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scanBuffer(cursor, "COUNT", 1000);
    cursor = next.toString();
    keys.push(...batch);
  } while (cursor !== "0");
  // SCAN may return a key twice; keep one.
  const seen = new Map(keys.map((k) => [k.toString("hex"), k]));
  return [...seen.values()].sort(Buffer.compare);
}

function toEntry(keyBytes, [typeB, pttl, size, items]) {
  const type = typeB.toString();
  const entry = { key: keyFromBytes(keyBytes), type, pttl, size, truncated: false };
  if (type === "string") entry.value = bytesToJson(items[0]);
  else if (type === "hash") {
    entry.hash = [];
    for (let i = 0; i < items.length; i += 2) entry.hash.push([keyFromBytes(items[i]), bytesToJson(items[i + 1])]);
  } else if (type === "list") entry.list = items.map(bytesToJson);
  else if (type === "zset") {
    entry.zset = [];
    for (let i = 0; i < items.length; i += 2) entry.zset.push([bytesToJson(items[i]), scoreFromBytes(items[i + 1])]);
  } else entry.truncated = size > 0; // content of other types is not read
  return entry;
}

async function main() {
  const { url, out, opts } = parseArgs(process.argv.slice(2));
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const info = (await redis.info("server")).match(/^redis_version:(.*)$/m)?.[1]?.trim() ?? "unknown";
    const keys = await scanAll(redis);
    const now = Date.now();
    const entries = [];
    for (const k of keys) {
      const reply = await redis.evalBuffer(READ_KEY, 1, k);
      if (reply[1] === -2) continue; // expired between SCAN and read
      entries.push(toEntry(k, reply));
    }
    const fixture = {
      capture: {
        library: opts.library ?? "unknown",
        version: opts.version ?? "unknown",
        scenario: opts.scenario ?? "unknown",
        program: opts.program ?? "unknown",
        server: `redis ${info}`,
        capturedAt: new Date(now).toISOString(),
      },
      now,
      entries,
    };
    writeFileSync(out, JSON.stringify(fixture, null, 2) + "\n");
    console.error(`dump-redis: ${entries.length} keys -> ${out}`);
  } finally {
    redis.disconnect();
  }
}

main().catch((err) => {
  console.error(`dump-redis: ${err.message}`);
  process.exit(1);
});
