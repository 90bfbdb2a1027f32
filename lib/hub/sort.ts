// The lock table's orders. Each is ascending with ties in key order; `desc` is its reverse.
// At 1M records a sort is paid once per snapshot version (lib/hub/query.ts caches it), but on a
// store whose locks change every version is new, so its cost is what the first page after a
// change waits for. Numeric orders therefore compare one number per record, made once, rather
// than calling a comparator that reads nested fields (and, for `age`, localeCompare: 8 s at 1M).

import type { LockRecord } from "../model";
import { keyOrder } from "../key-order";

export type SortKey = "key" | "ttl" | "age" | "waiters";

export function compareKeys(a: LockRecord, b: LockRecord): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * TTL order: the TTLs the store reported, soonest first; then the holdings whose time left the
 * store does not report (an etcd lease it could not read, a Consul or ZooKeeper session), which
 * may end at any moment and must not pass for long-lived; then no expiry, last.
 */
function ttlRank(r: LockRecord): number {
  if (r.ttlMs !== null) return r.ttlMs;
  return r.ttlSource === "pttl" || r.ttlSource === "none" ? Infinity : Number.MAX_VALUE;
}

/** The number that orders a record, for every order but `key`. */
const RANK: Record<Exclude<SortKey, "key">, (r: LockRecord) => number> = {
  ttl: ttlRank,
  // When the holding started; no holder, or a time that does not parse, sorts last.
  age: (r) => {
    const t = r.holders[0]?.since === undefined ? NaN : Date.parse(r.holders[0].since);
    return Number.isNaN(t) ? Infinity : t;
  },
  waiters: (r) => r.waiters.length,
};

/**
 * The records (by key, each under its own key) in ascending `sort` order, ties by key. (With the
 * records already in key order at hand, `rankOrder` over them gives the same order with no
 * string comparison: lib/hub/query.ts.)
 */
export function sortRecords(records: ReadonlyMap<string, LockRecord>, sort: SortKey): LockRecord[] {
  if (sort === "key") {
    // Code-unit order, as compareKeys, by a radix sort of indexes (../key-order.ts): at 1M locks
    // ~0.75 s, where `.sort()` of the keys and a look-up per sorted key took ~1.15 s.
    const keys = new Array<string>(records.size);
    const rows = new Array<LockRecord>(records.size);
    let n = 0;
    for (const [k, r] of records) {
      keys[n] = k;
      rows[n++] = r;
    }
    const order = keyOrder(keys);
    const out = new Array<LockRecord>(n);
    for (let i = 0; i < n; i++) out[i] = rows[order[i]];
    return out;
  }
  const rows = [...records.values()];
  const { order, rank } = rankOrder(rows, sort);
  const out = new Array<LockRecord>(rows.length);
  for (let i = 0; i < order.length; i++) out[i] = rows[order[i]];
  // Equal ranks came out in the records' own order: put each run of them in key order.
  for (let i = 0; i < out.length;) {
    let j = i + 1;
    while (j < out.length && rank[order[j]] === rank[order[i]]) j++;
    if (j - i > 1) {
      const run = out.slice(i, j).sort(compareKeys);
      for (let k = 0; k < run.length; k++) out[i + k] = run[k];
    }
    i = j;
  }
  return out;
}

/** The number that places `r` in a numeric order (-0 made 0). */
export function rankOf(sort: Exclude<SortKey, "key">, r: LockRecord): number {
  return RANK[sort](r) + 0;
}

/** Indexes into `rows` in ascending `sort` order, equal ranks in the rows' own order; and the ranks. */
export function rankOrder(rows: LockRecord[], sort: Exclude<SortKey, "key">): { order: Uint32Array; rank: Float64Array } {
  const f = RANK[sort];
  const rank = new Float64Array(rows.length);
  // + 0 makes -0 into 0, which a comparator would call equal.
  for (let i = 0; i < rows.length; i++) rank[i] = f(rows[i]) + 0;
  return { order: orderByRank(rank), rank };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Indexes 0..n-1 in ascending `rank`, equal ranks in index order. A stable LSD radix sort on the
 * ranks' IEEE-754 bits made sortable as unsigned integers (positive: sign bit set; negative: all
 * bits flipped), 16 bits a pass, a pass skipped when every rank has the same digit there: at 1M
 * rows tens of ms, where a comparator sort took 0.5–0.7 s.
 */
export function orderByRank(rank: Float64Array): Uint32Array {
  const n = rank.length;
  let idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (!LITTLE_ENDIAN) return idx.sort((i, j) => rank[i] - rank[j] || i - j);
  const words = new Uint32Array(rank.buffer, rank.byteOffset, 2 * n);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const h = words[2 * i + 1];
    const l = words[2 * i];
    if (h & 0x80000000) {
      hi[i] = ~h >>> 0;
      lo[i] = ~l >>> 0;
    } else {
      hi[i] = (h | 0x80000000) >>> 0;
      lo[i] = l;
    }
  }
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(0x10000);
  for (const [word, shift] of [
    [lo, 0],
    [lo, 16],
    [hi, 0],
    [hi, 16],
  ] as const) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(word[i] >>> shift) & 0xffff]++;
    if (n === 0 || count[(word[0] >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 0x10000; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const v = idx[i];
      tmp[count[(word[v] >>> shift) & 0xffff]++] = v;
    }
    [idx, tmp] = [tmp, idx];
  }
  return idx;
}
