// keyOrder against `.sort()` (code-unit order) on key sets shaped like lock keys and unlike them:
// long shared prefixes, digit and hex tails, keys that are prefixes of others, duplicates, wide
// alphabets (one character per pass), surrogates, and sizes on both sides of each path's limit.
import { describe, expect, it } from "vitest";
import { createRng } from "./demo/prng";
import { keyOrder } from "./key-order";

/** A seeded generator (the demo's mulberry32), so a failure can be replayed. */
const random = (seed: number): (() => number) => createRng(seed).next;

function shuffle(keys: readonly string[], seed = 7): string[] {
  const out = [...keys];
  const r = random(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function sorted(keys: string[]): string[] {
  return [...keyOrder(keys)].map((i) => keys[i]);
}

const SHAPES: Record<string, (n: number, r: () => number) => string[]> = {
  "zero-padded numbers under one prefix": (n) => Array.from({ length: n }, (_, i) => `lock:bench:${String(i).padStart(7, "0")}`),
  "unpadded numbers under three prefixes": (n) => Array.from({ length: n }, (_, i) => `lock:${["orders", "payments", "users"][i % 3]}:${i}`),
  "hex ids": (n, r) => Array.from({ length: n }, () => `locks/${Math.floor(r() * 2 ** 52).toString(16)}-${Math.floor(r() * 1e6).toString(16)}`),
  "prefixes of each other, and duplicates": (n, r) => Array.from({ length: n }, () => "lock:a:b:c:d:e:f:g:h".slice(0, Math.floor(r() * 21))),
  "wide alphabet (BMP, surrogates, NUL, U+FFFF)": (n, r) =>
    Array.from({ length: n }, () =>
      String.fromCharCode(
        ...Array.from({ length: 1 + Math.floor(r() * 6) }, () => (r() < 0.1 ? [0, 0xffff, 0xd800, 0xdc00][Math.floor(r() * 4)] : Math.floor(r() * 0x10000))),
      ),
    ),
  "few characters, many places (keys differing late)": (n, r) =>
    Array.from({ length: n }, () => Array.from({ length: 30 + Math.floor(r() * 3) }, () => "ab"[Math.floor(r() * 2)]).join("")),
};

describe("keyOrder", () => {
  for (const [shape, make] of Object.entries(SHAPES)) {
    for (const n of [0, 1, 23, 24, 300, 5_000, 40_000]) {
      it(`${shape}, ${n} keys: the order of .sort()`, () => {
        // Shuffled, as SCAN hands keys over.
        const keys = shuffle(make(n, random(n + shape.length)));
        expect(sorted(keys)).toEqual([...keys].sort());
      });
    }
  }

  it("a key that ends sorts before the same key with NUL after it, in ranges long enough to be counted, not insertion-sorted", () => {
    // 40 keys "p", "p\0", "p\0\0", …: each differs from the next only by ending where it has a NUL.
    const nul = Array.from({ length: 40 }, (_, k) => `p${"\u0000".repeat(k)}`);
    // The same within a longer shared prefix, and beside other keys.
    const mixed = [...nul.map((k) => `lock:${k}`), ...Array.from({ length: 30 }, (_, i) => `lock:p${i}`)];
    // In order, reversed, and shuffled: the key a range reads first may be the one that ends.
    for (const keys of [nul, mixed]) for (const given of [keys, [...keys].reverse(), shuffle(keys)]) expect(sorted(given)).toEqual([...keys].sort());
  });

  it("a permutation: every index once", () => {
    const keys = SHAPES["prefixes of each other, and duplicates"](5_000, random(1));
    const order = [...keyOrder(keys)].sort((a, b) => a - b);
    expect(order).toEqual(keys.map((_, i) => i));
  });

  it("keys that split off one at a time, hundreds of levels deep", () => {
    // Each level parts one key from a run of 30 that still agree: a level per 8 characters.
    const base = Array.from({ length: 8 * 400 }, (_, i) => "abcdefgh"[(i * 5) % 8]).join("");
    const keys = [...Array.from({ length: 400 }, (_, j) => `${base.slice(0, 8 * j)}!`), ...Array.from({ length: 30 }, (_, j) => `${base}${j}`)].reverse();
    expect(sorted(keys)).toEqual([...keys].sort());
  });
});
