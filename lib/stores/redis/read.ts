// Reads raw entries for a batch of keys on one node in as few round trips as the data allows:
//   1. PTTL + GETRANGE 0 cap-1 for every key: strings (nearly all lock keys) are done here;
//      GETRANGE answers WRONGTYPE for the rest, which costs nothing extra.
//   2. TYPE for the non-strings, STRLEN for strings that filled the cap.
//   3. size and capped contents by type: hashes (HLEN, HSCAN), lists (LLEN, LRANGE),
//      sorted sets (ZCARD, ZRANGE).
// Values are never read past valueCapBytes, so a 10 MB value costs 64 KiB.

import type { RedisClient } from "./client";
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

/** `names` are the keys' lib/keys.ts forms when the caller has them already. */
export async function readEntries(node: RedisClient, keys: Buffer[], cap: number, names?: string[]): Promise<ReadResult> {
  const out: ReadResult = { entries: [], vanished: [], problems: [] };
  if (keys.length === 0) return out;

  const p1 = node.pipeline();
  for (const k of keys) p1.pttl(k).getrangeBuffer(k, 0, cap - 1);
  const r1 = (await p1.exec()) as Reply[];

  const others: Array<{ k: Buffer; key: string; pttl: number }> = [];
  const full: Array<{ entry: RedisEntry; k: Buffer }> = [];
  keys.forEach((k, i) => {
    const key = names?.[i] ?? keyFromBytes(k);
    const [ttlErr, pttl] = r1[2 * i];
    const [getErr, value] = r1[2 * i + 1];
    connectionFailed(ttlErr ?? getErr);
    if (ttlErr) return out.problems.push({ key, code: "read-error", message: ttlErr.message });
    if (pttl === -2) return out.vanished.push(key);
    if (getErr) {
      if (/WRONGTYPE/.test(getErr.message)) others.push({ k, key, pttl: pttl as number });
      else out.problems.push({ key, code: "read-error", message: getErr.message });
      return;
    }
    const buf = value as Buffer;
    const entry: RedisEntry = { key, type: "string", pttl: pttl as number, size: buf.length, truncated: false, value: buf };
    out.entries.push(entry);
    if (buf.length >= cap) full.push({ entry, k });
  });
  if (others.length === 0 && full.length === 0) return out;

  const p2 = node.pipeline();
  for (const { k } of full) p2.strlen(k);
  for (const { k } of others) p2.type(k);
  const r2 = (await p2.exec()) as Reply[];
  for (const [err] of r2) connectionFailed(err);
  full.forEach(({ entry }, i) => {
    const size = Number(r2[i][1] ?? entry.size);
    entry.size = size;
    entry.truncated = size > entry.value!.length;
  });

  const p3 = node.pipeline();
  const pending: RedisEntry[] = [];
  others.forEach(({ k, key, pttl }, i) => {
    const type = String(r2[full.length + i][1] ?? "none");
    if (type === "none") return out.vanished.push(key);
    const entry: RedisEntry = { key, type, pttl, size: 0, truncated: false };
    out.entries.push(entry);
    if (type === "hash") p3.hlen(k).hscanBuffer(k, 0, "COUNT", MAX_ITEMS);
    else if (type === "list") p3.llen(k).lrangeBuffer(k, 0, MAX_ITEMS - 1);
    else if (type === "zset") p3.zcard(k).zrangeBuffer(k, "0", String(MAX_ITEMS - 1), "WITHSCORES");
    else return;
    pending.push(entry);
  });
  if (pending.length === 0) return out;
  const r3 = (await p3.exec()) as Reply[];
  pending.forEach((entry, i) => {
    entry.size = Number(r3[2 * i][1] ?? 0);
    entry.truncated = entry.size > MAX_ITEMS;
    const [err, reply] = r3[2 * i + 1];
    connectionFailed(r3[2 * i][0] ?? err);
    if (err) {
      out.problems.push({ key: entry.key, code: "read-error", message: err.message });
      return;
    }
    if (entry.type === "hash") {
      const [cursor, flat] = reply as [Buffer, Buffer[]];
      entry.hash = pairs(flat).map(([f, v]) => [keyFromBytes(f), v]);
      if (String(cursor) !== "0") entry.truncated = true;
    } else if (entry.type === "list") entry.list = reply as Buffer[];
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
