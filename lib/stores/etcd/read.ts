// Reading lock prefixes in pages, all at one revision, so a big prefix never becomes one reply
// and the result is one consistent cut of the keyspace (MVCC: a range at revision R sees
// exactly the store at R, however long the paging takes).
//
// Per prefix: first a count-only range (no keys, no values: sizes the prefix, and on the first
// prefix fixes R), then ranges with values at R, each continuing after the last key of the one
// before: `pageSize` keys first, later ones growing (nextPageSize). A page whose reply is over
// maxReplyBytes (someone keeps big values under a lock prefix) is read again at `pageSize` if
// it had grown, else keys-only, then value by value. Range calls go through rpc.ts.

import type { IKeyValue } from "etcd3";
import { UNREAD_PREFIX, type Problem } from "../../model";
import type { EtcdClient } from "./client";
import type { RangeReply, RangeRequest } from "./wire";
import type { EtcdEntry } from "../../formats/etcd";
import { isAscii } from "node:buffer";
import { keyFromBytes, keyToBytes } from "../../keys";

export interface ReadOptions {
  serializable: boolean;
  /** Keys in a prefix's first page; later ones grow (nextPageSize). */
  pageSize: number;
  /** Replies stay under a quarter of this when pages grow (the client refuses bigger ones). */
  maxReplyBytes: number;
  maxKeysPerPrefix: number;
  /** Deadline of each range request. */
  timeoutMs: number;
  /**
   * Prefixes read at once after the first (which fixes the revision); 1 when absent. Only
   * without onPage: pages are then handed on in no particular order.
   */
  concurrency?: number;
}

export interface ReadResult {
  /** Every entry read, unless an onPage callback took the pages as they came (then empty). */
  entries: EtcdEntry[];
  problems: Problem[];
  /** The revision every page was read at. */
  revision: string;
  /** Which member answered the first request (hex id). */
  memberId: string;
  /** Range requests sent (for the bench's "no re-range while idle"). */
  ranges: number;
}

/** At most this many keys in one page, however small they are. */
export const MAX_PAGE_KEYS = 100_000;

/**
 * The next page's size after a page of `keys` keys in `bytes` bytes: four times the last, as
 * far as the bytes per key seen so far keep the reply under a quarter of maxReplyBytes, never
 * below pageSize, never above MAX_PAGE_KEYS. Why grow: etcd 3.4 walks every remaining key of
 * the range for each page (its index returns them all before the limit applies), so ten pages
 * of 100k keys cost it about three times what two do; the first page stays small so decoding
 * starts early and overlaps the rest.
 */
export function nextPageSize(last: number, keys: number, bytes: number, o: Pick<ReadOptions, "pageSize" | "maxReplyBytes">): number {
  const byBytes = keys > 0 ? Math.floor(o.maxReplyBytes / 4 / Math.max(1, bytes / keys)) : last;
  return Math.max(o.pageSize, Math.min(last * 4, byBytes, MAX_PAGE_KEYS));
}

/** The smallest key greater than every key that starts with `prefix` ("\0" = no upper bound). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The range start for a prefix: etcd spells "every key" as key "\0" with range_end "\0". */
export function prefixStart(prefix: string): Buffer {
  return prefix === "" ? Buffer.from([0]) : Buffer.from(prefix, "utf8");
}

/**
 * Prefixes that another one already covers are dropped ("" covers everything). Sorted, a prefix
 * comes before every string it covers, and the strings between them start with it too: so a
 * prefix is covered exactly when it starts with the last one kept (one pass: a re-read of 28k
 * groups compared each with all before it, ~400M comparisons on the event loop: audit2 F9).
 */
export function coveringPrefixes(prefixes: string[]): string[] {
  const out: string[] = [];
  for (const p of [...new Set(prefixes)].sort()) if (out.length === 0 || !p.startsWith(out[out.length - 1])) out.push(p);
  return out;
}

/** lib/keys.ts form of a key; ASCII keys (nearly all) skip the UTF-8 round-trip check. */
function keyText(b: Buffer): string {
  if (isAscii(b)) {
    const text = b.toString("latin1");
    if (!text.startsWith("base64:")) return text;
  }
  return keyFromBytes(b);
}

/** An etcd3 KeyValue (watch events; rpc.ts's fallback) as the decoder's entry. */
export function entryOf(kv: IKeyValue): EtcdEntry {
  return {
    key: keyText(kv.key),
    value: kv.value ?? Buffer.alloc(0),
    createRevision: String(kv.create_revision),
    modRevision: String(kv.mod_revision),
    version: String(kv.version),
    lease: String(kv.lease ?? "0"),
  };
}

export async function readPrefixes(
  client: EtcdClient,
  prefixes: string[],
  o: ReadOptions,
  signal: AbortSignal,
  /** Each page as it arrives (with its prefix and the member that answered), before the next is awaited. */
  onPage?: (entries: EtcdEntry[], prefix: string, memberId: string) => void,
): Promise<ReadResult> {
  const out: ReadResult = { entries: [], problems: [], revision: "0", memberId: "", ranges: 0 };
  const range = async (req: RangeRequest): Promise<RangeReply> => {
    signal.throwIfAborted();
    out.ranges++;
    const res = await client.rpc.range({ ...req, serializable: o.serializable, ...(out.revision !== "0" && { revision: out.revision }) }, o.timeoutMs);
    if (out.revision === "0") {
      out.revision = res.revision;
      out.memberId = res.memberId;
    }
    return res;
  };
  const all = coveringPrefixes(prefixes);
  // The first prefix fixes the revision; the rest are read at it, `concurrency` at a time.
  const workers = onPage ? 1 : Math.max(1, o.concurrency ?? 1);
  let at = 0;
  let failed = false;
  const work = async () => {
    try {
      while (at < all.length && !failed) await readOne(all[at++]);
    } catch (err) {
      failed = true; // the other workers stop at their next prefix
      throw err;
    }
  };
  if (all.length) await readOne(all[at++]);
  await Promise.all(Array.from({ length: Math.min(workers, all.length - at) }, work));
  return out;

  async function readOne(prefix: string): Promise<void> {
    const key = prefixStart(prefix);
    const end = prefixEnd(Buffer.from(prefix, "utf8"));
    // The next page is asked for before this one is handed on, so etcd serves it meanwhile.
    let next: Promise<Page> | null = readPage(range, key, end, o.pageSize, o.pageSize, out.problems, o.maxKeysPerPrefix);
    let first = true;
    while (next) {
      const page: Page = await next;
      // A reply counts every key left in its range (etcd counts the whole range for each
      // request): the first page's count is the prefix's, so no count-only read goes first.
      if (first && page.count > o.maxKeysPerPrefix) {
        out.problems.push({
          key: prefix,
          code: UNREAD_PREFIX,
          message: `${page.count} keys under this prefix, more than maxKeysPerPrefix (${o.maxKeysPerPrefix}): not read. Configure narrower prefixes.`,
        });
        break;
      }
      first = false;
      const limit = page.bytes > 0 ? nextPageSize(page.limit, page.entries.length, page.bytes, o) : o.pageSize;
      next = page.more && page.lastKey ? readPage(range, Buffer.concat([page.lastKey, Buffer.from([0])]), end, limit, o.pageSize, out.problems) : null;
      next?.catch(() => {}); // awaited on the next turn; never an unhandled rejection meanwhile
      // Kept for the caller only when it takes no pages one by one (a snapshot decodes them as they come).
      if (onPage) onPage(page.entries, prefix, out.memberId);
      else for (const e of page.entries) out.entries.push(e);
    }
  }
}

/** Reads one key exactly (at the latest revision), for the release pre-check. */
export async function readKey(client: EtcdClient, key: string, keyBytes: Buffer, serializable: boolean, deadlineMs: number) {
  const res = await client.rpc.range({ key: keyBytes, serializable }, deadlineMs);
  return { entry: res.entries[0] ?? null, revision: res.revision, memberId: res.memberId, key };
}

interface Page {
  entries: EtcdEntry[];
  lastKey: Buffer | null;
  more: boolean;
  /** The reply's size; 0 when it was read key by key (too big as one reply: pages do not grow). */
  bytes: number;
  /** The limit it was read with. */
  limit: number;
  /** Keys in the range from the page's first key on (etcd counts them for every request). */
  count: number;
}

const tooBig = (err: unknown) => /RESOURCE_EXHAUSTED|larger than max|ResourceExha/i.test(`${(err as Error).name} ${(err as Error).message}`);

/**
 * One page of up to `limit` keys. Too big as one reply: a grown page is read again at `pageSize`
 * (the values got bigger than the pages before said), and a page of `pageSize` keys is read
 * keys-only, then value by value — unless the keys-only reply counts more than `refuseOver`
 * keys in the range (the first page of a prefix that will be refused: no value is fetched).
 */
async function readPage(
  range: (req: RangeRequest) => Promise<RangeReply>,
  from: Buffer,
  end: Buffer,
  limit: number,
  pageSize: number,
  problems: Problem[],
  refuseOver = Infinity,
): Promise<Page> {
  try {
    return { ...(await range({ key: from, rangeEnd: end, limit })), limit };
  } catch (err) {
    if (!tooBig(err)) throw err;
  }
  if (limit > pageSize) return readPage(range, from, end, pageSize, pageSize, problems, refuseOver);
  // Too big as one reply: learn the keys without values, then fetch each value alone.
  const keys = await range({ key: from, rangeEnd: end, limit, keysOnly: true });
  if (keys.count > refuseOver) return { entries: [], lastKey: null, more: false, bytes: 0, limit, count: keys.count };
  const entries: EtcdEntry[] = [];
  for (const k of keys.entries) {
    try {
      const one = await range({ key: keyToBytes(k.key) });
      if (one.entries[0]) entries.push(one.entries[0]);
    } catch (err) {
      problems.push({ key: k.key, code: "value-too-large", message: `its value is larger than maxReplyBytes: ${(err as Error).message}` });
      // Non-empty on purpose: an unread value must not pass for an etcd3 Lock's empty one.
      entries.push({ ...k, value: Buffer.from("(value larger than maxReplyBytes: not read)") });
    }
  }
  return { entries, lastKey: keys.lastKey, more: keys.more, bytes: 0, limit, count: keys.count };
}
