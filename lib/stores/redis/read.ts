// Reads raw entries for a batch of keys on one node in as few round trips and commands as the
// data allows (client-side cost per command dominates: ~5 µs each in ioredis, the server's
// share is a fifth of that):
//   1. PTTL for every key, and the values: one MGET for the whole batch where the server takes
//      multi-key commands across slots (not Cluster), else GETRANGE 0 cap-1 per key. Strings
//      (nearly all lock keys) are done here; MGET answers nil and GETRANGE WRONGTYPE for the rest.
//   2. HSCAN (COUNT 1000) for the non-strings — nearly all are Redisson hashes, done here;
//      STRLEN for strings that GETRANGE filled to the cap.
//   3. HLEN for hashes longer than that page; TYPE for what answered WRONGTYPE.
//   4. lists (LLEN, LRANGE) and sorted sets (ZCARD, ZRANGE), capped.
// Values are kept up to valueCapBytes. MGET has no cap: it transfers a long value whole, once —
// the key is then remembered as large (LargeValues) and read with GETRANGE from then on.
// Re-reads of single locks (reread) always use GETRANGE.

import type { Problem } from "../../model";
import type { RedisEntry } from "../../formats/redis/entry";
import { keyFromBytes } from "../../keys";

const MAX_ITEMS = 1000;

type Reply = [Error | null, unknown];

export interface ReadResult {
  entries: RedisEntry[];
  /** keys that disappeared between discovery and read */
  vanished: string[];
  problems: Problem[];
}

/** Keys whose value was over the cap: read with GETRANGE, not MGET. Bounded. */
export class LargeValues {
  private keys = new Set<string>();
  constructor(private readonly max = 10_000) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  add(key: string): void {
    if (this.keys.size >= this.max) this.keys = new Set();
    this.keys.add(key);
  }
}

type Key = string | Buffer;

/** The commands readEntries sends, as an ioredis pipeline takes them (raw.ts has the same). */
export interface ReadPipeline {
  pttl(k: Key): ReadPipeline;
  getrangeBuffer(k: Key, start: number, end: number): ReadPipeline;
  mgetBuffer(...keys: Key[]): ReadPipeline;
  strlen(k: Key): ReadPipeline;
  hscanBuffer(k: Key, cursor: number, count: "COUNT", n: number): ReadPipeline;
  hlen(k: Key): ReadPipeline;
  type(k: Key): ReadPipeline;
  llen(k: Key): ReadPipeline;
  lrangeBuffer(k: Key, start: number, stop: number): ReadPipeline;
  zcard(k: Key): ReadPipeline;
  zrangeBuffer(k: Key, start: string, stop: string, withScores: "WITHSCORES"): ReadPipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** An ioredis client, or the snapshot's own connection to one node (raw.ts). */
export interface PipelineNode {
  pipeline(): ReadPipeline;
}

export interface ReadOptions {
  /** valueCapBytes */
  cap: number;
  /** One MGET for the batch's values (standalone servers); else GETRANGE per key. */
  multiGet?: LargeValues;
}

/**
 * `names` are the keys' lib/keys.ts forms when the caller has them already. Text keys are sent
 * as strings (ioredis writes a string argument more cheaply than a Buffer), binary ones as bytes.
 */
export async function readEntries(node: PipelineNode, keys: Buffer[], opts: ReadOptions, names?: string[]): Promise<ReadResult> {
  const out: ReadResult = { entries: [], vanished: [], problems: [] };
  if (keys.length === 0) return out;
  const { cap, multiGet } = opts;
  const key = (i: number) => names?.[i] ?? keyFromBytes(keys[i]);
  const arg = (i: number): string | Buffer => {
    const name = names?.[i];
    return name !== undefined && !name.startsWith("base64:") ? name : keys[i];
  };

  // 1. PTTL + values.
  const p1 = node.pipeline();
  for (let i = 0; i < keys.length; i++) p1.pttl(arg(i));
  /** index into r1 of each key's GETRANGE reply; undefined when its value is in the MGET */
  const ranged: number[] = [];
  const batch: number[] = [];
  let next = keys.length;
  for (let i = 0; i < keys.length; i++) {
    if (multiGet && !multiGet.has(key(i))) batch.push(i);
    else {
      ranged[i] = next++;
      p1.getrangeBuffer(arg(i), 0, cap - 1);
    }
  }
  if (batch.length) p1.mgetBuffer(...batch.map(arg));
  const r1 = (await p1.exec()) as Reply[];
  const mget = batch.length ? r1[r1.length - 1] : null;
  const mgetValues = new Map<number, Buffer | null>();
  if (mget) {
    if (mget[0]) throw mget[0];
    (mget[1] as Array<Buffer | null>).forEach((v, j) => mgetValues.set(batch[j], v));
  }

  const others: Array<{ i: number; key: string; pttl: number }> = [];
  const full: Array<{ entry: RedisEntry; i: number }> = [];
  for (let i = 0; i < keys.length; i++) {
    const name = key(i);
    const [ttlErr, pttl] = r1[i];
    connectionFailed(ttlErr ?? (ranged[i] === undefined ? null : r1[ranged[i]][0]));
    if (ttlErr) {
      out.problems.push({ key: name, code: "read-error", message: ttlErr.message });
      continue;
    }
    if (pttl === -2) {
      out.vanished.push(name);
      continue;
    }
    let value: Buffer;
    if (ranged[i] === undefined) {
      const v = mgetValues.get(i);
      // nil: not a string (or deleted after the PTTL; TYPE will say "none").
      if (v === null || v === undefined) {
        others.push({ i, key: name, pttl: pttl as number });
        continue;
      }
      if (v.length > cap) {
        multiGet!.add(name);
        const entry: RedisEntry = { key: name, type: "string", pttl: pttl as number, size: v.length, truncated: true, value: Buffer.from(v.subarray(0, cap)) };
        out.entries.push(entry);
        continue;
      }
      value = v;
    } else {
      const [getErr, v] = r1[ranged[i]];
      if (getErr) {
        if (/WRONGTYPE/.test(getErr.message)) others.push({ i, key: name, pttl: pttl as number });
        else out.problems.push({ key: name, code: "read-error", message: getErr.message });
        continue;
      }
      value = v as Buffer;
    }
    const entry: RedisEntry = { key: name, type: "string", pttl: pttl as number, size: value.length, truncated: false, value };
    out.entries.push(entry);
    if (ranged[i] !== undefined && value.length >= cap) full.push({ entry, i });
  }
  if (others.length === 0 && full.length === 0) return out;

  // 2. STRLEN of capped strings; the rest read as hashes straight away (nearly every
  //    non-string under a lock pattern is a Redisson hash): one HSCAN instead of TYPE + HLEN + HSCAN.
  const p2 = node.pipeline();
  for (const { i } of full) p2.strlen(arg(i));
  for (const { i } of others) p2.hscanBuffer(arg(i), 0, "COUNT", MAX_ITEMS);
  const r2 = (await p2.exec()) as Reply[];
  for (const [err] of r2) connectionFailed(err);
  full.forEach(({ entry }, j) => {
    const size = Number(r2[j][1] ?? entry.size);
    entry.size = size;
    entry.truncated = size > entry.value!.length;
  });
  const bigHashes: Array<{ entry: RedisEntry; i: number }> = [];
  const notHashes: typeof others = [];
  others.forEach((o, j) => {
    const [err, reply] = r2[full.length + j];
    if (err) {
      if (/WRONGTYPE/.test(err.message)) notHashes.push(o);
      else out.problems.push({ key: o.key, code: "read-error", message: err.message });
      return;
    }
    const [cursor, flat] = reply as [Buffer, Buffer[]];
    // Redis deletes a hash with its last field: an empty answer means the key is gone.
    if (flat.length === 0 && String(cursor) === "0") return out.vanished.push(o.key);
    const entry: RedisEntry = {
      key: o.key,
      type: "hash",
      pttl: o.pttl,
      size: flat.length / 2,
      truncated: false,
      hash: pairs(flat).map(([f, v]) => [keyFromBytes(f), v]),
    };
    out.entries.push(entry);
    if (String(cursor) !== "0") bigHashes.push({ entry, i: o.i });
  });
  if (bigHashes.length === 0 && notHashes.length === 0) return out;

  // 3. HLEN of hashes with more fields than one HSCAN page; TYPE of what was not a hash.
  const p3 = node.pipeline();
  for (const { i } of bigHashes) p3.hlen(arg(i));
  for (const { i } of notHashes) p3.type(arg(i));
  const r3 = (await p3.exec()) as Reply[];
  for (const [err] of r3) connectionFailed(err);
  bigHashes.forEach(({ entry }, j) => {
    entry.size = Number(r3[j][1] ?? entry.size);
    entry.truncated = true;
  });

  // 4. Lists and sorted sets (rare under lock patterns): size and capped contents.
  const p4 = node.pipeline();
  const pending: RedisEntry[] = [];
  notHashes.forEach(({ i, key: name, pttl }, j) => {
    const type = String(r3[bigHashes.length + j][1] ?? "none");
    if (type === "none") return out.vanished.push(name);
    const entry: RedisEntry = { key: name, type, pttl, size: 0, truncated: false };
    out.entries.push(entry);
    const k = arg(i);
    if (type === "list") p4.llen(k).lrangeBuffer(k, 0, MAX_ITEMS - 1);
    else if (type === "zset") p4.zcard(k).zrangeBuffer(k, "0", String(MAX_ITEMS - 1), "WITHSCORES");
    else return;
    pending.push(entry);
  });
  if (pending.length === 0) return out;
  const r4 = (await p4.exec()) as Reply[];
  pending.forEach((entry, j) => {
    entry.size = Number(r4[2 * j][1] ?? 0);
    entry.truncated = entry.size > MAX_ITEMS;
    const [err, reply] = r4[2 * j + 1];
    connectionFailed(r4[2 * j][0] ?? err);
    if (err) {
      out.problems.push({ key: entry.key, code: "read-error", message: err.message });
      return;
    }
    if (entry.type === "list") entry.list = reply as Buffer[];
    else entry.zset = pairs(reply as Buffer[]).map(([m, s]) => [m, Number(s.toString())]);
  });
  return out;
}

/**
 * A reply error (WRONGTYPE, NOPERM) belongs to its key; anything else (timeout, connection
 * closed) means the read failed, and must never pass for "the key is gone".
 */
function connectionFailed(err: Error | null): void {
  if (err && err.name !== "ReplyError") throw err;
}

function pairs(flat: Buffer[]): Array<[Buffer, Buffer]> {
  const out: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}
