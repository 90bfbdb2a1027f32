// Filtering, sorting and paging a hub's locks for the table API. Sorted orders are cached
// per snapshot version so paging through 100k rows does not sort on every request.

import type { LockRecord } from "../model";
import { lockStatus, type LockStatus } from "../status";

export type SortKey = "key" | "ttl" | "age" | "waiters";

export interface LockQuery {
  q?: string;
  format?: string;
  status?: LockStatus[];
  warning?: string;
  sort: SortKey;
  dir: "asc" | "desc";
  offset: number;
  limit: number;
}

const compare: Record<SortKey, (a: LockRecord, b: LockRecord) => number> = {
  key: (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  // No expiry sorts as the longest TTL.
  ttl: (a, b) => (a.ttlMs ?? Infinity) - (b.ttlMs ?? Infinity) || compare.key(a, b),
  age: (a, b) => heldSince(a).localeCompare(heldSince(b)) || compare.key(a, b),
  waiters: (a, b) => a.waiters.length - b.waiters.length || compare.key(a, b),
};

function heldSince(r: LockRecord): string {
  return r.holders[0]?.since ?? "\uffff";
}

export class SortedView {
  private cache = new Map<string, LockRecord[]>();
  private version = -1;

  sorted(records: Map<string, LockRecord>, version: number, sort: SortKey, dir: "asc" | "desc"): LockRecord[] {
    if (version !== this.version) {
      this.cache.clear();
      this.version = version;
    }
    const id = `${sort}:${dir}`;
    let rows = this.cache.get(id);
    if (!rows) {
      rows = [...records.values()].sort(compare[sort]);
      if (dir === "desc") rows.reverse();
      this.cache.set(id, rows);
    }
    return rows;
  }
}

// Lower-cased key and holder ids per record, computed once: records are replaced, never
// mutated, so a record's entry stays right for its lifetime.
const searchText = new WeakMap<LockRecord, string>();

function textOf(r: LockRecord): string {
  let t = searchText.get(r);
  if (t === undefined) {
    t = [r.key, ...r.holders.map((h) => h.id)].join("\u0000").toLowerCase();
    searchText.set(r, t);
  }
  return t;
}

export function applyFilters(rows: LockRecord[], q: LockQuery): LockRecord[] {
  const needle = q.q?.toLowerCase();
  const statuses = q.status?.length ? new Set(q.status) : null;
  if (!needle && !q.format && !statuses && !q.warning) return rows;
  return rows.filter(
    (r) =>
      (!needle || textOf(r).includes(needle)) &&
      (!q.format || r.format === q.format) &&
      (!q.warning || r.warnings.includes(q.warning)) &&
      (!statuses || statuses.has(lockStatus(r))),
  );
}
