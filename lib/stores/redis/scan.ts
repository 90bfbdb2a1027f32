// Discovery with SCAN (never KEYS): one pass per node, COUNT as a hint, duplicates dropped,
// each page read while the next is scanned, at most a few pages in flight. Each page's entries
// go to the caller as soon as they are read (the snapshot decodes them then), so a full pass
// never holds every key's raw bytes at once.

import { keyFromBytes } from "../../keys";
import { readEntries, type PipelineNode, type ReadOptions, type ReadResult } from "./read";

/** One node's keyspace: an ioredis client, or the snapshot's own connection to it (raw.ts). */
export interface ScanNode extends PipelineNode {
  scanBuffer(cursor: string, count: "COUNT", n: number): Promise<[Buffer, Buffer[]]>;
}

/** Keys per SCAN page; with 4 pages in flight, the fastest setting measured (docs/benchmarks.md). */
const SCAN_COUNT = 2000;
const IN_FLIGHT = 4;

export async function scanAndRead(
  node: ScanNode,
  wanted: (key: string) => boolean,
  opts: ReadOptions,
  onPage: (page: ReadResult) => void,
  signal: AbortSignal,
): Promise<void> {
  const seen = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let cursor = "0";
  do {
    signal.throwIfAborted();
    const [next, keys] = await node.scanBuffer(cursor, "COUNT", SCAN_COUNT);
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
    const job = readEntries(node, page, opts, names).then(onPage);
    const tracked = job.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  } while (cursor !== "0");
  await Promise.all(inFlight);
}
