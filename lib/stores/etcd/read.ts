// Reading lock prefixes in pages, all at one revision, so 100k keys never become one reply and
// the result is one consistent cut of the keyspace (MVCC: a range at revision R sees exactly
// the store at R, however long the paging takes).
//
// Per prefix: first a count-only range (no keys, no values: sizes the prefix, and on the first
// prefix fixes R), then ranges of `pageSize` keys with values at R, each continuing after the
// last key of the one before. A page whose reply is over maxReplyBytes (someone keeps big
// values under a lock prefix) is read again keys-only, then value by value.

import type { Etcd3, IKeyValue, IRangeRequest, IRangeResponse } from "etcd3";
import type { Problem } from "../../model";
import type { EtcdEntry } from "../../formats/etcd";
import { isAscii } from "node:buffer";
import { keyFromBytes } from "../../keys";

export interface ReadOptions {
  serializable: boolean;
  pageSize: number;
  maxKeysPerPrefix: number;
}

export interface ReadResult {
  entries: EtcdEntry[];
  problems: Problem[];
  /** The revision every page was read at. */
  revision: string;
  /** Which member answered the first request (hex id). */
  memberId: string;
  /** Range requests sent (for the bench's "no re-range while idle"). */
  ranges: number;
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

/** Prefixes that another one already covers are dropped ("" covers everything). */
export function coveringPrefixes(prefixes: string[]): string[] {
  const sorted = [...new Set(prefixes)].sort();
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => p.startsWith(q)));
}

/** lib/keys.ts form of a key; ASCII keys (nearly all) skip the UTF-8 round-trip check. */
function keyText(b: Buffer): string {
  if (isAscii(b)) {
    const text = b.toString("latin1");
    if (!text.startsWith("base64:")) return text;
  }
  return keyFromBytes(b);
}

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
  client: Etcd3,
  prefixes: string[],
  o: ReadOptions,
  signal: AbortSignal,
  /** Each page as it arrives (with its prefix and the member that answered), before the next is awaited. */
  onPage?: (entries: EtcdEntry[], prefix: string, memberId: string) => void,
): Promise<ReadResult> {
  const out: ReadResult = { entries: [], problems: [], revision: "0", memberId: "", ranges: 0 };
  const range = async (req: IRangeRequest): Promise<IRangeResponse> => {
    signal.throwIfAborted();
    out.ranges++;
    const res = await client.kv.range({ ...req, serializable: o.serializable, ...(out.revision !== "0" && { revision: out.revision }) });
    if (out.revision === "0") {
      out.revision = String(res.header.revision);
      out.memberId = BigInt(res.header.member_id).toString(16);
    }
    return res;
  };
  for (const prefix of coveringPrefixes(prefixes)) {
    const key = prefixStart(prefix);
    const end = prefixEnd(Buffer.from(prefix, "utf8"));
    const sized = await range({ key, range_end: end, count_only: true });
    // etcd3's typings omit RangeResponse.count; the reply carries it.
    const count = Number((sized as IRangeResponse & { count?: string }).count ?? 0);
    if (count > o.maxKeysPerPrefix) {
      out.problems.push({
        key: prefix,
        code: "prefix-too-large",
        message: `${count} keys under this prefix, more than maxKeysPerPrefix (${o.maxKeysPerPrefix}): not read. Configure narrower prefixes.`,
      });
      continue;
    }
    // The next page is asked for before this one is converted, so etcd serves it meanwhile.
    let next: Promise<{ kvs: IKeyValue[]; more: boolean }> | null = readPage(range, key, end, o.pageSize, out.problems);
    while (next) {
      const page: { kvs: IKeyValue[]; more: boolean } = await next;
      const last = page.kvs[page.kvs.length - 1];
      next = page.more && last ? readPage(range, Buffer.concat([last.key, Buffer.from([0])]), end, o.pageSize, out.problems) : null;
      next?.catch(() => {}); // awaited on the next turn; never an unhandled rejection meanwhile
      const entries = page.kvs.map(entryOf);
      for (const e of entries) out.entries.push(e);
      onPage?.(entries, prefix, out.memberId);
    }
  }
  return out;
}

/** Reads one key exactly (at the latest revision), for the release pre-check. */
export async function readKey(client: Etcd3, key: string, keyBytes: Buffer, serializable: boolean, deadlineMs: number) {
  const res = await client.kv.range({ key: keyBytes, serializable }, { deadline: Date.now() + deadlineMs });
  const kv = res.kvs[0];
  return { entry: kv ? entryOf(kv) : null, revision: String(res.header.revision), memberId: BigInt(res.header.member_id).toString(16), key };
}

async function readPage(
  range: (req: IRangeRequest) => Promise<IRangeResponse>,
  from: Buffer,
  end: Buffer,
  limit: number,
  problems: Problem[],
): Promise<{ kvs: IKeyValue[]; more: boolean }> {
  try {
    const res = await range({ key: from, range_end: end, limit });
    return { kvs: res.kvs, more: res.more };
  } catch (err) {
    if (!/RESOURCE_EXHAUSTED|larger than max|ResourceExha/i.test(`${(err as Error).name} ${(err as Error).message}`)) throw err;
  }
  // Too big as one reply: learn the keys without values, then fetch each value alone.
  const keys = await range({ key: from, range_end: end, limit, keys_only: true });
  const kvs: IKeyValue[] = [];
  for (const k of keys.kvs) {
    try {
      const one = await range({ key: k.key });
      if (one.kvs[0]) kvs.push(one.kvs[0]);
    } catch (err) {
      const key = keyFromBytes(k.key);
      problems.push({ key, code: "value-too-large", message: `its value is larger than maxReplyBytes: ${(err as Error).message}` });
      // Non-empty on purpose: an unread value must not pass for an etcd3 Lock's empty one.
      kvs.push({ ...k, value: Buffer.from("(value larger than maxReplyBytes: not read)") });
    }
  }
  return { kvs, more: keys.more };
}
