// The hub's records by key, remembering which keys were set or deleted since the lock table's
// orders were last brought up to date (query.ts). A full sort of 1M keys takes 1.5–4 s, and
// every change made a new version that the next table request sorted again; with the keys
// that changed at hand, the key order is patched in one pass instead.
//
// Contract: every set() and delete() of a key is in the next takeTouched(), or takeTouched()
// answers null (more than JOURNAL_MAX keys, or a clear()): then nothing can be patched, and the
// caller rebuilds. A new RecordMap (a snapshot) is a new identity: callers rebuild for it too.

import type { LockRecord } from "../model";

/** Beyond this many changed keys a rebuild is as cheap as a patch; the journal stops growing. */
const JOURNAL_MAX = 50_000;

export class RecordMap extends Map<string, LockRecord> {
  /** undefined while Map's constructor fills the map (before fields exist); null = overflowed. */
  private touched: Set<string> | null | undefined = new Set();

  override set(key: string, value: LockRecord): this {
    this.note(key);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had) this.note(key);
    return had;
  }

  override clear(): void {
    this.touched = null;
    super.clear();
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
