// The rows of one lock-table order, kept in blocks. Orders are patched across versions (query.ts):
// a row put in or taken out of one flat array of 1M rows moves up to a million pointers, which
// took 3–4 ms a splice in the product's heap; a few changes a version then cost every table
// request 20–40 ms (row 5c of the redis1m bench). Here a change moves at most one block's.
//
// Search texts, once made, are held in blocks of the same shape, changed in the same step.

import type { LockRecord } from "../model";

/** Rows per block when blocks are made; a block that grows to twice this is split. */
const BLOCK = 1024;

type TextOf = (r: LockRecord) => string;

export class Rows {
  private blocks: LockRecord[][] = [];
  /** Null until made (withTexts, setTexts); then block for block the texts of `blocks`. */
  private textBlocks: string[][] | null = null;
  /** Where each block starts: starts[b] is the index of blocks[b][0]. */
  private starts: number[] = [];
  private size = 0;

  /** `rows` in this order (copied); `texts`, when given, theirs. */
  constructor(rows: readonly LockRecord[] = [], texts?: readonly string[]) {
    for (let i = 0; i < rows.length; i += BLOCK) {
      this.starts.push(i);
      this.blocks.push(rows.slice(i, i + BLOCK));
    }
    this.size = rows.length;
    if (texts) this.setTexts(texts);
  }

  get length(): number {
    return this.size;
  }

  get hasTexts(): boolean {
    return this.textBlocks !== null;
  }

  at(i: number): LockRecord {
    const b = this.blockOf(i);
    return this.blocks[b][i - this.starts[b]];
  }

  /**
   * The first index whose row is not `before` (length when every row is): the rows must be
   * ordered so that `before` holds for a prefix of them. Where a row goes in a sorted order.
   */
  partitionPoint(before: (row: LockRecord) => boolean): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.at(mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Rows from..to-1 (clamped, as Array.prototype.slice for non-negative bounds). */
  slice(from: number, to: number): LockRecord[] {
    const out: LockRecord[] = [];
    const end = Math.min(to, this.size);
    if (from >= end) return out;
    for (let b = this.blockOf(from); b < this.blocks.length && this.starts[b] < end; b++) {
      const block = this.blocks[b];
      const s = this.starts[b];
      for (let j = Math.max(0, from - s); j < block.length && s + j < end; j++) out.push(block[j]);
    }
    return out;
  }

  toArray(): LockRecord[] {
    return flatten(this.blocks, this.size);
  }

  /** The texts as one array (they must have been made). */
  textArray(): string[] {
    return flatten(this.textBlocks!, this.size);
  }

  /** Makes the search texts if they are not made yet. */
  withTexts(textOf: TextOf): this {
    this.textBlocks ??= this.blocks.map((block) => block.map(textOf));
    return this;
  }

  /** The search texts, one per row in this order. */
  setTexts(texts: readonly string[]): void {
    if (texts.length !== this.size) throw new Error(`Rows.setTexts: ${texts.length} texts for ${this.size} rows`);
    this.textBlocks = this.blocks.map((block, b) => texts.slice(this.starts[b], this.starts[b] + block.length));
  }

  /**
   * Calls `fn` for each block in order: its rows, their texts (undefined until made) and the
   * index of its first row. For the loops over every row (filters), which a call per row slows.
   */
  eachBlock(fn: (rows: readonly LockRecord[], texts: readonly string[] | undefined, start: number) => void): void {
    for (let b = 0; b < this.blocks.length; b++) fn(this.blocks[b], this.textBlocks?.[b], this.starts[b]);
  }

  /** Puts `row` at index i (0..length); `textOf` makes its text when the texts are made. */
  insert(i: number, row: LockRecord, textOf: TextOf): void {
    if (this.blocks.length === 0) {
      this.blocks.push([]);
      this.textBlocks?.push([]);
      this.starts.push(0);
    }
    // At the very end: the last block's end, not a new block's start.
    const b = i === this.size ? this.blocks.length - 1 : this.blockOf(i);
    const j = i - this.starts[b];
    this.blocks[b].splice(j, 0, row);
    this.textBlocks?.[b].splice(j, 0, textOf(row));
    this.size++;
    this.shift(b, 1);
    if (this.blocks[b].length >= 2 * BLOCK) this.split(b);
  }

  /** Replaces the row at index i. */
  set(i: number, row: LockRecord, textOf: TextOf): void {
    const b = this.blockOf(i);
    const j = i - this.starts[b];
    this.blocks[b][j] = row;
    if (this.textBlocks) this.textBlocks[b][j] = textOf(row);
  }

  /** Takes out the row at index i. */
  remove(i: number): void {
    const b = this.blockOf(i);
    const j = i - this.starts[b];
    this.blocks[b].splice(j, 1);
    this.textBlocks?.[b].splice(j, 1);
    this.size--;
    this.shift(b, -1);
    if (this.blocks[b].length === 0) {
      this.blocks.splice(b, 1);
      this.textBlocks?.splice(b, 1);
      this.starts.splice(b, 1);
    }
  }

  /** The block holding index i (0 <= i < length). */
  private blockOf(i: number): number {
    if (!(i >= 0 && i < this.size)) throw new RangeError(`Rows: index ${i} of ${this.size}`);
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The blocks after b start `by` later. */
  private shift(b: number, by: number): void {
    for (let k = b + 1; k < this.starts.length; k++) this.starts[k] += by;
  }

  private split(b: number): void {
    const half = this.blocks[b].length >>> 1;
    this.blocks.splice(b + 1, 0, this.blocks[b].splice(half));
    this.textBlocks?.splice(b + 1, 0, this.textBlocks[b].splice(half));
    this.starts.splice(b + 1, 0, this.starts[b] + half);
  }
}

/** The blocks' items in one array (Array.prototype.flat took ~90 ms for 1M rows; this, a few). */
function flatten<T>(blocks: readonly T[][], size: number): T[] {
  const out = new Array<T>(size);
  let i = 0;
  for (const block of blocks) for (let j = 0; j < block.length; j++) out[i++] = block[j];
  return out;
}
