// Keys whose record the hub replaced without publishing a change: a renewal moves only the
// expiry, and no bus event tells of it. The history recorder keeps each lock's expiry current
// from these (lib/history/recorder.ts, sweep), instead of comparing every record it knows each
// second — at 100k idle locks that pass alone allocated ~4 MB/s, enough to keep V8 from ever
// giving the heap of the first snapshot back.
//
// Contract: one reader drains it with take(). "all" means every record may have been replaced
// (a full re-read swapped them, too many renewals piled up unread, or nothing was read yet), so
// the reader must look at all of them.

/** Renewals kept by key until read; past this the set gives way to "all" (bounded without a reader). */
const MAX_KEYS = 10_000;
const NONE: ReadonlySet<string> = new Set();

export type Renewed = ReadonlySet<string> | "all";

export class Renewals {
  private keys = new Set<string>();
  private all = true;

  /** A record replaced without a published change. */
  add(key: string): void {
    if (this.all) return;
    this.keys.add(key);
    if (this.keys.size > MAX_KEYS) this.markAll();
  }

  /** Every record replaced at once (a full snapshot). */
  markAll(): void {
    this.all = true;
    this.keys.clear();
  }

  /** What was renewed since the last take(); nothing renewed allocates nothing. */
  take(): Renewed {
    if (this.all) {
      this.all = false;
      return "all";
    }
    if (this.keys.size === 0) return NONE;
    const out = this.keys;
    this.keys = new Set();
    return out;
  }
}
