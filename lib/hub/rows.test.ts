// Rows against a plain array given the same operations: blocks split, emptied and removed, texts
// kept in step, and every read (at, slice, eachBlock, toArray, textArray) the plain array's.
import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { Rows } from "./rows";

const rec = (i: number) => ({ key: `k${i}` }) as LockRecord;
const text = (r: LockRecord) => `t:${r.key}`;

/** A small deterministic generator (the failures must repeat). */
function rng(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
}

function expectSame(rows: Rows, plain: LockRecord[], withTexts: boolean) {
  expect(rows.length).toBe(plain.length);
  expect(rows.toArray()).toEqual(plain);
  if (withTexts) expect(rows.textArray()).toEqual(plain.map(text));
  let seen = 0;
  rows.eachBlock((block, texts, start) => {
    expect(start).toBe(seen);
    expect(block.length).toBeGreaterThan(0);
    block.forEach((r, j) => expect(plain[start + j]).toBe(r));
    expect(texts).toEqual(withTexts ? block.map(text) : undefined);
    seen += block.length;
  });
  expect(seen).toBe(plain.length);
}

describe("Rows", () => {
  it("thousands of inserts, replacements and removals across block splits and emptied blocks: reads match a plain array", () => {
    const next = rng(42);
    let n = 0;
    const plain = Array.from({ length: 3_000 }, () => rec(n++));
    const rows = new Rows(plain, plain.map(text));
    for (let step = 0; step < 6_000; step++) {
      const what = next(10);
      if (what < 5 || plain.length === 0) {
        // Inserts bunched at one place (some at the very end) so a block grows past twice its size.
        const at = what === 0 ? plain.length : Math.min(plain.length, 1_500 + next(20));
        const r = rec(n++);
        plain.splice(at, 0, r);
        rows.insert(at, r, text);
      } else if (what < 7) {
        const at = next(plain.length);
        const r = rec(n++);
        plain[at] = r;
        rows.set(at, r, text);
      } else {
        // Removals from the front empty the first blocks.
        const at = what === 9 ? 0 : next(plain.length);
        plain.splice(at, 1);
        rows.remove(at);
      }
      if (step % 500 === 0) expectSame(rows, plain, true);
    }
    expectSame(rows, plain, true);
    // Empty the first blocks and one in the middle.
    for (let k = 0; k < 1_500; k++) {
      plain.splice(0, 1);
      rows.remove(0);
      plain.splice(2_000, 1);
      rows.remove(2_000);
    }
    expectSame(rows, plain, true);
    for (let k = 0; k < 200; k++) {
      const i = next(plain.length);
      expect(rows.at(i)).toBe(plain[i]);
      const from = next(plain.length + 10);
      const to = from + next(300);
      expect(rows.slice(from, to)).toEqual(plain.slice(from, to));
    }
  });

  it("splits a block that grows to twice its size, so a change never moves more than a block", () => {
    const rows = new Rows(Array.from({ length: 1_024 }, (_, i) => rec(i)));
    for (let i = 0; i < 1_024; i++) rows.insert(512, rec(10_000 + i), text);
    const sizes: number[] = [];
    rows.eachBlock((block) => sizes.push(block.length));
    expect(sizes).toEqual([1_024, 1_024]);
  });

  it("partitionPoint: where a row goes in a sorted order, across blocks, at both ends and in an empty order", () => {
    const plain = Array.from({ length: 5_000 }, (_, i) => rec(i * 2));
    const rows = new Rows(plain);
    const num = (r: LockRecord) => Number(r.key.slice(1));
    for (const x of [-1, 0, 1, 2_047, 2_048, 2_049, 4_096, 9_997, 9_998, 9_999, 20_000]) {
      expect(rows.partitionPoint((r) => num(r) < x)).toBe(plain.filter((r) => num(r) < x).length);
    }
    expect(new Rows().partitionPoint(() => true)).toBe(0);
  });

  it("empties and fills again; texts absent until made; bad indexes and text counts are refused", () => {
    const rows = new Rows([rec(1), rec(2)]);
    expect(rows.hasTexts).toBe(false);
    rows.insert(2, rec(3), () => {
      throw new Error("no texts are kept yet: no text is made");
    });
    rows.remove(0);
    rows.remove(0);
    rows.remove(0);
    expectSame(rows, [], false);
    expect(rows.slice(0, 10)).toEqual([]);
    const [a, b] = [rec(4), rec(5)];
    rows.insert(0, a, text);
    rows.insert(1, b, text);
    rows.withTexts(text);
    expectSame(rows, [a, b], true);
    expect(() => rows.at(2)).toThrow(RangeError);
    expect(() => rows.remove(-1)).toThrow(RangeError);
    expect(() => rows.setTexts(["only one"])).toThrow(/1 texts for 2 rows/);
  });
});
