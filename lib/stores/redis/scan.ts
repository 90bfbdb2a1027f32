// Discovery with SCAN (never KEYS): one pass per node, COUNT as a hint, duplicates dropped,
// each page read while the next is scanned, at most a few pages in flight.

import type Redis from "ioredis";
import { keyFromBytes } from "../../keys";
import { readEntries, type ReadResult } from "./read";

const SCAN_COUNT = 1000;
const IN_FLIGHT = 4;

export async function scanAndRead(
  node: Redis,
  wanted: (key: string) => boolean,
  cap: number,
  signal: AbortSignal,
): Promise<ReadResult> {
  const seen = new Set<string>();
  const total: ReadResult = { entries: [], vanished: [], problems: [] };
  const inFlight = new Set<Promise<void>>();
  let cursor = "0";
  do {
    signal.throwIfAborted();
    const [next, keys] = (await node.scanBuffer(cursor, "COUNT", SCAN_COUNT)) as [Buffer, Buffer[]];
    cursor = next.toString();
    const page: Buffer[] = [];
    const names: string[] = [];
    for (const k of keys) {
      const key = keyFromBytes(k);
      if (seen.has(key) || !wanted(key)) continue;
      seen.add(key);
      page.push(k);
      names.push(key);
    }
    if (page.length === 0) continue;
    const job = readEntries(node, page, cap, names).then((r) => {
      total.entries.push(...r.entries);
      total.vanished.push(...r.vanished);
      total.problems.push(...r.problems);
    });
    const tracked = job.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  } while (cursor !== "0");
  await Promise.all(inFlight);
  return total;
}
