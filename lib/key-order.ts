// Lock keys in code-unit order, for the lock table's key order at 1M keys (lib/hub/sort.ts).
// In the server's heap with 1M locks, `.sort()` of the keys took 0.6–0.7 s and the look-up of each
// record by sorted key another ~0.5 s, on the event loop; this sort of indexes, with no look-ups,
// took ~0.75 s for both. Lock keys share long prefixes (`orders:lock:`) and use few characters
// after them (digits, hex), so an MSD radix sort that skips each range's shared prefix and packs
// the next few places into one 32-bit number (as few bits a place as the range's alphabet needs)
// settles them in two or three levels of counting passes. Most of its time is the first read of
// each key's characters (a cache miss per key in a large heap): on compact keys made in a small
// process it is 2–5× faster than `.sort()`, in the server's heap about as fast.

/** Below this many keys a range is put in order by insertion. */
const SMALL = 24;
/** How many places of each key a level reads (into a buffer: 24 MB at 1M keys, for the sort's duration). */
const WINDOW = 12;

/**
 * Indexes 0..n-1 of `keys` in ascending code-unit order (the order of `keys.slice().sort()`,
 * and of `<` on strings); equal keys in no particular order.
 */
export function keyOrder(keys: readonly string[]): Uint32Array {
  const n = keys.length;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const work = new Sorter(keys, idx);
  // Ranges still to order, each with the place from which its keys may differ. A stack, not
  // recursion: a range of long keys that differ late goes one level per few characters.
  const todo: number[] = [0, n, 0];
  while (todo.length) {
    const d = todo.pop()!;
    const hi = todo.pop()!;
    const lo = todo.pop()!;
    work.range(lo, hi, d, todo);
  }
  return idx;
}

class Sorter {
  /** The window's code units of the key at idx[i]: WINDOW per position i. */
  private readonly codes: Uint16Array;
  /** How many of the window's places the key at idx[i] has (the rest are past its end). */
  private readonly has: Uint8Array;
  /** The packed places of the key at idx[i], by position i. */
  private readonly w: Uint32Array;
  private readonly wTmp: Uint32Array;
  private readonly idxTmp: Uint32Array;
  /** Per code unit + 1 (0: past the key's end), its number in the current range's alphabet. */
  private readonly rankOf = new Uint32Array(0x10001);
  private readonly count = new Uint32Array(0x10000);
  private readonly first = new Int32Array(WINDOW);

  constructor(
    private readonly keys: readonly string[],
    private readonly idx: Uint32Array,
  ) {
    this.codes = new Uint16Array(idx.length * WINDOW);
    this.has = new Uint8Array(idx.length);
    this.w = new Uint32Array(idx.length);
    this.wTmp = new Uint32Array(idx.length);
    this.idxTmp = new Uint32Array(idx.length);
  }

  /** Orders idx[lo, hi), whose keys agree before place `d`; pushes the runs still tied. */
  range(lo: number, hi: number, d: number, todo: number[]): void {
    const { codes, has, w, rankOf } = this;
    if (hi - lo < SMALL) return this.insertion(lo, hi);
    // Read from the first place where two keys differ (or one ends): a window they all share
    // moves on, and one they share a part of is read again from where they part, so that the
    // packed places below are as many as the alphabet allows.
    for (;;) {
      const at = this.read(lo, hi, d);
      if (at === 0) break;
      // Every key ended inside the window, at the same place: they are all equal.
      if (at === WINDOW && has[lo] < WINDOW) return;
      d += at;
    }
    // The code units met in the window, numbered in ascending order from 1.
    const seen: number[] = [];
    for (let i = lo; i < hi; i++) {
      const end = i * WINDOW + has[i];
      for (let x = i * WINDOW; x < end; x++) {
        const c = codes[x] + 1;
        if (rankOf[c] === 0) {
          rankOf[c] = 1;
          seen.push(c);
        }
      }
    }
    seen.sort((a, b) => a - b);
    for (let i = 0; i < seen.length; i++) rankOf[seen[i]] = i + 1;
    const bits = 32 - Math.clz32(seen.length);
    const per = Math.max(1, Math.min(WINDOW, Math.floor(32 / bits)));
    const scale = 2 ** bits;
    for (let i = lo; i < hi; i++) {
      const base = i * WINDOW;
      const end = base + has[i];
      let r = 0;
      // A key that ended sorts before every character (its places read 0).
      for (let x = base; x < base + per; x++) r = r * scale + (x < end ? rankOf[codes[x] + 1] : 0);
      w[i] = r;
    }
    for (let i = 0; i < seen.length; i++) rankOf[seen[i]] = 0;
    this.radix(lo, hi, bits * per);
    // Runs equal in these places whose keys all go on past them (a key that ended reads 0 in the
    // last place): ordered by what follows.
    const last = scale - 1;
    for (let i = lo; i < hi;) {
      const x = w[i];
      let j = i + 1;
      while (j < hi && w[j] === x) j++;
      if (j - i > 1 && (x & last) !== 0) todo.push(i, j, d + per);
      i = j;
    }
  }

  /**
   * Reads places d..d+WINDOW of each key of idx[lo, hi) into `codes` and `has`; returns the first
   * of them at which two keys differ, or WINDOW if none.
   */
  private read(lo: number, hi: number, d: number): number {
    const { keys, idx, codes, has, first } = this;
    for (let i = lo; i < hi; i++) {
      const k = keys[idx[i]];
      const n = Math.max(0, Math.min(WINDOW, k.length - d));
      has[i] = n;
      const base = i * WINDOW;
      for (let j = 0; j < n; j++) codes[base + j] = k.charCodeAt(d + j);
    }
    for (let j = 0; j < WINDOW; j++) first[j] = j < has[lo] ? codes[lo * WINDOW + j] : -1;
    let differ = WINDOW;
    for (let i = lo + 1; i < hi && differ > 0; i++) {
      const n = has[i];
      const base = i * WINDOW;
      for (let j = 0; j < differ; j++) {
        if ((j < n ? codes[base + j] : -1) !== first[j]) {
          differ = j;
          break;
        }
      }
    }
    return differ;
  }

  /** A stable LSD counting sort of idx[lo, hi) by the low `used` bits of w, idx moved along. */
  private radix(lo: number, hi: number, used: number): void {
    const { idx, w, wTmp, idxTmp, count } = this;
    // Small ranges count in 8-bit digits: clearing and summing 65 536 counters would cost more.
    const digit = hi - lo < 4096 ? 8 : 16;
    const buckets = 1 << digit;
    const mask = buckets - 1;
    for (let shift = 0; shift < used; shift += digit) {
      count.fill(0, 0, buckets);
      for (let i = lo; i < hi; i++) count[(w[i] >>> shift) & mask]++;
      if (count[(w[lo] >>> shift) & mask] === hi - lo) continue;
      let sum = lo;
      for (let b = 0; b < buckets; b++) {
        const c = count[b];
        count[b] = sum;
        sum += c;
      }
      for (let i = lo; i < hi; i++) {
        const x = w[i];
        const at = count[(x >>> shift) & mask]++;
        wTmp[at] = x;
        idxTmp[at] = idx[i];
      }
      w.set(wTmp.subarray(lo, hi), lo);
      idx.set(idxTmp.subarray(lo, hi), lo);
    }
  }

  private insertion(lo: number, hi: number): void {
    const { keys, idx } = this;
    for (let i = lo + 1; i < hi; i++) {
      const v = idx[i];
      const k = keys[v];
      let j = i - 1;
      while (j >= lo && keys[idx[j]] > k) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
  }
}
