// Candidate raw reads for the Redis floor: what a plain ioredis client needs at least to list
// the lock keys with their values and TTLs. SCAN pages, one pipeline per page with a PTTL per
// key and the values either as a GET per key or as one MGET for the page, several pages in
// flight. No server-side scripts (EVAL needs scripting rights a read-only console should not
// ask for, and is refused across slots on Cluster). GET answers WRONGTYPE and MGET nil for the
// non-string keys: the floor does not read hash contents (the product does, for 10% of keys).

import type Redis from "ioredis";
import type { FloorCandidate } from "./floor";

export interface RedisFloorSettings {
  values: "GET" | "MGET";
  scanCount: number;
  inFlight: number;
}

export const REDIS_FLOOR_GRID: RedisFloorSettings[] = (["MGET", "GET"] as const).flatMap((values) =>
  [1000, 2000, 5000].flatMap((scanCount) => [2, 4, 8].map((inFlight) => ({ values, scanCount, inFlight }))),
);

export function describeRedisFloor(s: RedisFloorSettings): string {
  const values = s.values === "MGET" ? "PTTL per key + one MGET per page" : "PTTL + GET per key";
  return `SCAN COUNT ${s.scanCount}, ${values}, one pipeline per page, ≤ ${s.inFlight} pages in flight`;
}

/** Reads every key once with these settings; returns the number of keys read. */
export async function redisFloorRead(redis: Redis, s: RedisFloorSettings): Promise<number> {
  let cursor = "0";
  let read = 0;
  const inFlight = new Set<Promise<void>>();
  do {
    const [next, keys] = (await redis.scanBuffer(cursor, "COUNT", s.scanCount)) as [Buffer, Buffer[]];
    cursor = next.toString();
    if (keys.length === 0) continue;
    const p = redis.pipeline();
    if (s.values === "MGET") {
      for (const k of keys) p.pttl(k);
      p.mgetBuffer(...keys);
    } else for (const k of keys) p.pttl(k).getBuffer(k);
    const job = p.exec().then(() => void (read += keys.length));
    const tracked = job.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= s.inFlight) await Promise.race(inFlight);
  } while (cursor !== "0");
  await Promise.all(inFlight);
  return read;
}

export function redisFloorCandidates(redis: Redis, grid = REDIS_FLOOR_GRID): Array<FloorCandidate & { settings: RedisFloorSettings }> {
  return grid.map((settings) => ({ settings, label: describeRedisFloor(settings), read: () => redisFloorRead(redis, settings) }));
}
