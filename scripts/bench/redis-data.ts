// Bench data in Redis: a realistic mix of lock keys written with pipelines, and INFO counters.
// The raw floor reads are in redis-floor.ts.

import type Redis from "ioredis";
import { createRng } from "../../lib/demo/prng";

const SERVICES = ["orders", "payments", "inventory", "billing", "shipping", "users", "reports", "search"];
const CHUNK = 5_000;

export interface Mix {
  tokens: number;
  redisson: number;
  noExpiry: number;
}

/**
 * Writes `n` lock keys `<svc>:lock:<i>`:
 *   85% SET <32-hex token> PX <ttl> (redlock / redsync / plain SET NX PX style),
 *   10% Redisson RLock hashes { "<uuid>:<tid>": "1" } with PEXPIRE <ttl>,
 *    5% token strings with no expiry (a crashed holder's leftover).
 * TTLs are uniform in ttlSec (default 60..600 s). Deterministic apart from the clock.
 */
export async function writeLocks(redis: Redis, n: number, ttlSec: [number, number] = [60, 600], seed = 42): Promise<Mix> {
  const rng = createRng(seed);
  const ttl = () => rng.int(ttlSec[0] * 1000, ttlSec[1] * 1000);
  const mix: Mix = { tokens: 0, redisson: 0, noExpiry: 0 };
  for (let start = 0; start < n; start += CHUNK) {
    const p = redis.pipeline();
    for (let i = start; i < Math.min(n, start + CHUNK); i++) {
      const key = `${SERVICES[i % SERVICES.length]}:lock:${i}`;
      const kind = i % 20;
      if (kind < 2) {
        const uuid = [8, 4, 4, 4, 12].map((len) => rng.hex(len / 2)).join("-");
        p.hset(key, `${uuid}:${rng.int(1, 200)}`, "1").pexpire(key, ttl());
        mix.redisson++;
      } else if (kind === 2) {
        p.set(key, rng.hex(16));
        mix.noExpiry++;
      } else {
        p.set(key, rng.hex(16), "PX", ttl());
        mix.tokens++;
      }
    }
    const replies = (await p.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw new Error(`loading locks failed: ${failed[0]!.message}`);
  }
  return mix;
}

export interface ServerCounters {
  /** calls per command name (lower case), from INFO commandstats */
  calls: Map<string, number>;
  expiredKeys: number;
}

/** One INFO ALL call: command counts and expired keys. (Redis counts this INFO after it ran.) */
export async function serverCounters(redis: Redis): Promise<ServerCounters> {
  const info = await redis.info("all");
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1], Number(m[2]));
  const expiredKeys = Number(/^expired_keys:(\d+)/m.exec(info)?.[1] ?? 0);
  return { calls, expiredKeys };
}

export async function redisVersion(redis: Redis): Promise<string> {
  return /redis_version:(\S+)/.exec(await redis.info("server"))?.[1] ?? "?";
}
