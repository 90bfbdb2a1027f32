// The hub's records by key, remembering which keys were set or deleted since the lock table's
// orders were last brought up to date (query.ts). A full sort of 1M keys takes 1.5–4 s, and
// every change made a new version that the next table request sorted again; with the keys
// that changed at hand, the key order is patched instead. It also counts, as records come and
// go, what every locks page and the connection list show: the formats present, the records per
// state word, and the waiters.
//
// Contract: every set() and delete() of a key is in the next takeTouched(), or takeTouched()
// answers null (more than JOURNAL_MAX keys, or a clear()): then nothing can be patched, and the
// caller rebuilds. A new RecordMap (a snapshot) is a new identity: callers rebuild for it too.

import type { LockRecord } from "../model";
import { lockStatus, type LockStatus } from "../status";

/** Beyond this many changed keys a rebuild is as cheap as a patch; the journal stops growing. */
const JOURNAL_MAX = 50_000;

export class RecordMap extends Map<string, LockRecord> {
  /** undefined while Map's constructor fills the map (before fields exist); null = overflowed. */
  private touched: Set<string> | null | undefined = new Set();
  /**
   * How many records have each format (every locks page lists the formats present: a walk over
   * 1M records per version otherwise). A record's format never changes in place.
   */
  private byFormat: Map<string, number> | undefined = new Map();
  private formatList: string[] | null = null;
  /**
   * How many records are in each state word, how many have waiters (named or anonymous) and how
   * many waiters there are: the connection list and the overview's trend ask for these every
   * 2 s, and a walk over 1M records per version cost tens of ms while locks kept changing.
   * Records are never changed in place once stored (lib/hub/hub.ts), so what a record added
   * is what it takes away.
   */
  private tally: Tally | undefined = emptyTally();
  /** Counts every set, delete and clear: what an order was made from is told apart by it (query.ts). */
  mutations = 0;

  constructor(entries?: Iterable<readonly [string, LockRecord]>) {
    super(entries);
    for (const r of this.values()) this.count(r, 1);
  }

  override set(key: string, value: LockRecord): this {
    this.mutations++;
    this.note(key);
    // Map's constructor calls set() before the fields exist; the constructor counts those after.
    if (this.tally) {
      const old = super.get(key);
      if (old) this.count(old, -1);
      this.count(value, 1);
    }
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    const old = super.get(key);
    const had = super.delete(key);
    if (old) {
      this.mutations++;
      this.note(key);
      this.count(old, -1);
    }
    return had;
  }

  override clear(): void {
    this.mutations++;
    this.touched = null;
    this.byFormat?.clear();
    this.formatList = null;
    this.tally = emptyTally();
    super.clear();
  }

  /** The formats present, sorted; the same array until one comes or goes. */
  formats(): string[] {
    return (this.formatList ??= [...this.byFormat!.keys()].sort());
  }

  /** Records per state word, with waiters, and waiters in all (a copy). */
  counts(): Tally {
    const t = this.tally!;
    return { statuses: { ...t.statuses }, contended: t.contended, waiters: t.waiters };
  }

  private count(r: LockRecord, by: 1 | -1): void {
    const m = this.byFormat!;
    const n = (m.get(r.format) ?? 0) + by;
    if (n > 0) m.set(r.format, n);
    else m.delete(r.format);
    if (n === 0 || (n === 1 && by === 1)) this.formatList = null;
    const t = this.tally!;
    t.statuses[lockStatus(r)] += by;
    const waiters = r.waiters.length + (r.anonymousWaiters?.count ?? 0);
    t.waiters += by * waiters;
    if (waiters > 0) t.contended += by;
  }

  /** The keys set or deleted since the last call (null: too many, or cleared), and a fresh journal. */
  takeTouched(): Set<string> | null {
    const t = this.touched ?? null;
    this.touched = new Set();
    return t;
  }

  private note(key: string): void {
    if (!this.touched) return;
    this.touched.add(key);
    if (this.touched.size > JOURNAL_MAX) this.touched = null;
  }
}

export interface Tally {
  statuses: Record<LockStatus, number>;
  /** records with at least one waiter, named or anonymous */
  contended: number;
  /** waiters in all, named and anonymous */
  waiters: number;
}

function emptyTally(): Tally {
  return { statuses: { held: 0, contended: 0, stale: 0, expiring: 0, free: 0, unknown: 0 }, contended: 0, waiters: 0 };
}
