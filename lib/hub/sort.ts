// The lock table's orders. Each is ascending with ties in key order; `desc` is its reverse.
// At 1M records a sort is paid once per snapshot version (lib/hub/query.ts caches it), but on a
// store whose locks change every version is new, so its cost is what the first page after a
// change waits for. Numeric orders therefore compare one number per record, made once, rather
// than calling a comparator that reads nested fields (and, for `age`, localeCompare: 8 s at 1M).

import type { LockRecord } from "../model";

export type SortKey = "key" | "ttl" | "age" | "waiters";

export function compareKeys(a: LockRecord, b: LockRecord): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The number that orders a record, for every order but `key`. */
const RANK: Record<Exclude<SortKey, "key">, (r: LockRecord) => number> = {
  // No expiry sorts as the longest TTL.
  ttl: (r) => r.ttlMs ?? Infinity,
  // When the holding started; no holder, or a time that does not parse, sorts last.
  age: (r) => {
    const t = r.holders[0]?.since === undefined ? NaN : Date.parse(r.holders[0].since);
    return Number.isNaN(t) ? Infinity : t;
  },
  waiters: (r) => r.waiters.length,
};

/**
 * The records in ascending `sort` order, ties by key. `byKey`: the same records already in key
 * order, when the caller has it at hand; ties then cost no string comparison at all.
 */
export function sortRecords(records: Iterable<LockRecord>, sort: SortKey, byKey?: LockRecord[]): LockRecord[] {
  if (sort === "key") return byKey ? [...byKey] : [...records].sort(compareKeys);
  const rows = byKey ?? [...records];
  const rank = rows.map(RANK[sort]);
  const tie = byKey ? (i: number, j: number) => i - j : (i: number, j: number) => compareKeys(rows[i], rows[j]);
  // Infinity - Infinity is NaN, which falls through to the tie-break like 0 does.
  const order = Array.from(rows.keys()).sort((i, j) => rank[i] - rank[j] || tie(i, j));
  return order.map((i) => rows[i]);
}
