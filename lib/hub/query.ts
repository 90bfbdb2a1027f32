// Filtering, sorting and paging a hub's locks for the table API. Everything is cached per
// snapshot version (records are replaced, never mutated, and every change bumps the version),
// so paging through 100k rows and the table's re-reads every 2 s neither sort nor filter again,
// and typing into the key filter narrows the previous keystroke's matches instead of
// scanning every record (filter-as-you-type, docs/benchmarks.md). The key order outlives a
// version: the keys that changed (records.ts) are patched into it, so a store
// whose locks change all the time does not pay a full sort (1.5–4 s at 1M) per table request.
// An order's rows are kept in blocks (rows.ts), so a patch moves one block's rows, not 1M.

import type { LockRecord } from "../model";
import { lockStatus, type LockStatus } from "../status";
import { rankOf, rankOrder, sortRecords, type SortKey } from "./sort";
import { RecordMap } from "./records";
import { Rows } from "./rows";

export type { SortKey };

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

/**
 * What the key filter matches: the key and the holder ids, lower-cased. Made once per row of an
 * order and kept with it (rows.ts), patched across versions with the rows. Not cached per
 * record: the rows' texts are what is reused, and after a snapshot every record is new; a
 * WeakMap of 1M records cost memory and every major GC's ephemeron pass, and was rarely hit.
 */
function textOf(r: LockRecord): string {
  const h = r.holders;
  if (h.length === 0) return r.key.toLowerCase();
  if (h.length === 1) return (r.key + "\u0000" + h[0].id).toLowerCase();
  return [r.key, ...h.map((x) => x.id)].join("\u0000").toLowerCase();
}

/** One sort order of the records, with their search texts in the same order once made (on first filter). */
export interface Order {
  rows: Rows;
  /**
   * Where each row stood in the ascending key order it was made from, at that version: its
   * search texts are then that order's (made once a snapshot, patched across versions),
   * rearranged. Dropped when the order is patched.
   */
  perm?: Uint32Array;
  /**
   * The RecordMap's mutation count its records were taken at: a numeric order is patched with
   * the key order's changes only when both hold the same records (the same count).
   */
  at?: number;
}

const mutationsOf = (records: Map<string, LockRecord>) => (records instanceof RecordMap ? records.mutations : -1);

/** The rows of one order that pass one set of filters, as indexes into that order. */
interface Match {
  /** everything but the key text: a narrower key text may start from any entry with the same rest */
  rest: string;
  needle: string;
  rows: Uint32Array;
}

/**
 * Filtered answers kept per version (the typing of one key filter, plus the open tables'
 * re-reads): at most this many, holding at most KEPT_ROWS_PER_RECORD indexes per record in all
 * (8 bytes a record), the newest always kept.
 */
const MATCHES_KEPT = 16;
const KEPT_ROWS_PER_RECORD = 2;

export class SortedView {
  private orders = new Map<string, Order>();
  /** Insertion order = least recently used first. */
  private matches = new Map<string, Match>();
  private keptRows = 0;
  private version = -1;
  /** The map the orders were made from: a new one (a snapshot) cannot be patched. */
  private base: Map<string, LockRecord> | null = null;

  /** One page of the records in `q`'s order that pass its filters, and how many pass. */
  query(records: Map<string, LockRecord>, version: number, q: LockQuery): { total: number; locks: LockRecord[] } {
    if (version !== this.version) {
      this.orders = this.patched(records);
      this.matches.clear();
      this.keptRows = 0;
      this.version = version;
      this.base = records;
    }
    const orderId = `${q.sort}:${q.dir}`;
    const order = this.order(records, orderId, q);
    const match = this.match(order, orderId, q);
    if (!match) {
      // The table is open unfiltered: make the search texts now, after this answer, so the first
      // key typed into the filter does not wait for them (20–50 ms at 100k records).
      if (!order.rows.hasTexts) setImmediate(() => this.orders.get(orderId) === order && this.textsOf(order));
      return { total: order.rows.length, locks: order.rows.slice(q.offset, q.offset + q.limit) };
    }
    const page = [...match.rows.subarray(q.offset, q.offset + q.limit)];
    return { total: match.rows.length, locks: page.map((i) => order.rows.at(i)) };
  }

  /**
   * This version's orders from the last version's: the key order patched with the keys that
   * changed, and each numeric order with the records that moved; none when they cannot be.
   */
  private patched(records: Map<string, LockRecord>): Map<string, Order> {
    const out = new Map<string, Order>();
    const keyed = this.orders.get("key:asc");
    const touched = records instanceof RecordMap ? records.takeTouched() : null;
    // What the key order held before the patch: the numeric orders must hold the same.
    const keyedAt = keyed?.at;
    const patched = keyed && records === this.base && touched ? patchKeyOrder(keyed.rows, records, touched) : null;
    if (!patched) return out;
    const at = mutationsOf(records);
    out.set("key:asc", { rows: patched.rows, at });
    if (!patched.changes) return out;
    for (const [id, order] of this.orders) {
      const [sort, dir] = id.split(":") as [SortKey, "asc" | "desc"];
      // Descending key order: the ascending one reversed, when asked for. An order made at
      // another moment than the key order may hold other records than the changes name.
      if (sort === "key" || order.at === undefined || order.at !== keyedAt) continue;
      const next = patchRankOrder(order.rows, sort, dir === "desc", patched.changes, records.size);
      if (next) out.set(id, { rows: next, at });
    }
    return out;
  }

  private order(records: Map<string, LockRecord>, id: string, q: LockQuery): Order {
    let order = this.orders.get(id);
    if (order) return order;
    const keyed = this.orders.get("key:asc");
    if (keyed && q.sort !== "key") {
      // From this version's key order: ties come free, and so do the search texts.
      const byKey = keyed.rows.toArray();
      const perm = rankOrder(byKey, q.sort).order;
      if (q.dir === "desc") perm.reverse();
      const rows = new Array<LockRecord>(perm.length);
      for (let i = 0; i < perm.length; i++) rows[i] = byKey[perm[i]];
      order = { rows: new Rows(rows), perm, at: keyed.at };
    } else if (keyed && q.dir === "desc") {
      // Descending key order is the ascending one reversed: no sort.
      const perm = new Uint32Array(keyed.rows.length);
      for (let i = 0; i < perm.length; i++) perm[i] = perm.length - 1 - i;
      order = { rows: new Rows(keyed.rows.toArray().reverse()), perm, at: keyed.at };
    } else {
      const rows = sortRecords(records, q.sort);
      if (q.dir === "desc") rows.reverse();
      order = { rows: new Rows(rows), at: mutationsOf(records) };
      // Orders are patched across versions from the key order: make it, after this answer, so a
      // table opened on another order does not sort everything again at every change.
      if (q.sort !== "key" && records instanceof RecordMap) {
        const version = this.version;
        setImmediate(() => {
          if (this.version !== version || this.orders.has("key:asc")) return;
          this.orders.set("key:asc", { rows: new Rows(sortRecords(records, "key")), at: records.mutations });
        });
      }
    }
    this.orders.set(id, order);
    return order;
  }

  /**
   * The order's search texts, made on first need: rearranged from the key order's (which are
   * made once a snapshot and patched across versions) when the order came from it, so a store
   * whose locks keep changing does not rebuild 1M texts per version.
   */
  private textsOf(order: Order): void {
    if (order.rows.hasTexts) return;
    const keyed = this.orders.get("key:asc");
    if (order.perm && keyed) {
      const from = keyed.rows.withTexts(textOf).textArray();
      const texts = new Array<string>(order.perm.length);
      for (let i = 0; i < texts.length; i++) texts[i] = from[order.perm[i]];
      order.rows.setTexts(texts);
    } else order.rows.withTexts(textOf);
  }

  /** The filtered rows, or null for no filter (every row). */
  private match(order: Order, orderId: string, q: LockQuery): Match | null {
    const needle = q.q?.toLowerCase() ?? "";
    const statuses = q.status?.length ? new Set(q.status) : null;
    if (!needle && !q.format && !statuses && !q.warning) return null;
    const rest = [orderId, q.format ?? "", [...(statuses ?? [])].sort().join(","), q.warning ?? ""].join("\u0001");
    const id = `${rest}\u0001${needle}`;
    const hit = this.matches.get(id);
    if (hit) {
      // Most recently used last.
      this.matches.delete(id);
      this.matches.set(id, hit);
      return hit;
    }
    // Every row containing `needle` contains any part of it: start from the smallest kept answer
    // for a part of this text with the same other filters (the previous keystroke's, usually).
    let from: Match | null = null;
    for (const m of this.matches.values()) {
      if (m.rest === rest && needle.includes(m.needle) && (!from || m.rows.length < from.rows.length)) from = m;
    }
    if (needle) this.textsOf(order);
    const found = new Uint32Array(from ? from.rows.length : order.rows.length);
    let n = 0;
    if (from) {
      // Its rows already pass the other filters; only the longer text is left to check. Its
      // indexes ascend (every match is made in order), so one walk over the blocks finds them.
      const idx = from.rows;
      let k = 0;
      order.rows.eachBlock((rows, texts, start) => {
        const end = start + rows.length;
        for (; k < idx.length && idx[k] < end; k++) if (!needle || texts![idx[k] - start].includes(needle)) found[n++] = idx[k];
      });
    } else {
      order.rows.eachBlock((rows, texts, start) => {
        for (let j = 0; j < rows.length; j++) {
          if (needle && !texts![j].includes(needle)) continue;
          const r = rows[j];
          if ((!q.format || r.format === q.format) && (!q.warning || r.warnings.includes(q.warning)) && (!statuses || statuses.has(lockStatus(r))))
            found[n++] = start + j;
        }
      });
    }
    const match: Match = { rest, needle, rows: found.slice(0, n) };
    this.keep(id, match, order.rows.length * KEPT_ROWS_PER_RECORD);
    return match;
  }

  private keep(id: string, match: Match, maxRows: number) {
    this.matches.set(id, match);
    this.keptRows += match.rows.length;
    for (const [oldest, m] of this.matches) {
      if (m === match || (this.matches.size <= MATCHES_KEPT && this.keptRows <= maxRows)) break;
      this.matches.delete(oldest);
      this.keptRows -= m.rows.length;
    }
  }
}

/**
 * Beyond this many changed records a numeric order is made afresh from the key order (a radix
 * sort, ~100 ms at 1M) rather than patched (two binary searches and block splices a change).
 */
const RANK_PATCH_MAX = 10_000;

/**
 * The key order of `records`, from the previous version's and the keys set or deleted since:
 * changed records replaced where they stand, removed ones taken out, new ones put in place,
 * with their search texts when those are made. The previous order is patched in place. Null
 * when the result does not hold exactly the records (a change the journal missed): the caller
 * sorts afresh. `changes` (what a numeric order needs to follow) is null when there are too many.
 */
export function patchKeyOrder(rows: Rows, records: Map<string, LockRecord>, touched: Set<string>): { rows: Rows; changes: Change[] | null } | null {
  const changes: Change[] = [];
  for (const key of touched) {
    const at = rows.partitionPoint((r) => r.key < key);
    const old = at < rows.length && rows.at(at).key === key ? rows.at(at) : null;
    const now = records.get(key) ?? null;
    if (old === now) continue;
    changes.push({ old, now });
    if (!old) rows.insert(at, now!, textOf);
    else if (now) rows.set(at, now, textOf);
    else rows.remove(at);
  }
  if (rows.length !== records.size) return null;
  return { rows, changes: changes.length <= RANK_PATCH_MAX ? changes : null };
}

/** A record that changed between two versions: the one an order holds (null: new), the one now (null: gone). */
export interface Change {
  old: LockRecord | null;
  now: LockRecord | null;
}

/**
 * A numeric order (ties by key; `desc` the whole order reversed) with each changed record taken
 * out from where its old rank put it and put in where its new rank goes: O(changes · log rows)
 * comparisons and a block splice each. The order is patched in place. Null when a record is not
 * where its rank says, or the rows do not add up: the caller sorts afresh.
 */
export function patchRankOrder(rows: Rows, sort: Exclude<SortKey, "key">, desc: boolean, changes: Change[], size: number): Rows | null {
  const before = (a: LockRecord, rank: number, r: LockRecord) => {
    const ra = rankOf(sort, a);
    const c = ra < rank ? -1 : ra > rank ? 1 : a.key < r.key ? -1 : a.key > r.key ? 1 : 0;
    return desc ? c > 0 : c < 0;
  };
  const place = (r: LockRecord) => {
    const rank = rankOf(sort, r);
    return rows.partitionPoint((a) => before(a, rank, r));
  };
  for (const { old, now } of changes) {
    if (old) {
      const at = place(old);
      if (at >= rows.length || rows.at(at) !== old) return null;
      rows.remove(at);
    }
    if (now) rows.insert(place(now), now, textOf);
  }
  return rows.length === size ? rows : null;
}
