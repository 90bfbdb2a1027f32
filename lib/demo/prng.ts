// A small seeded PRNG (mulberry32) so a demo run can be replayed exactly: same seed, same
// timers, same fake clock = same locks, holders and tokens. Not for anything secret.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** `bytes` random bytes as lowercase hex (2 chars a byte). */
  hex(bytes: number): string;
  /** `bytes` random bytes, standard base64 (padded), like Python's b64encode(urandom(n)). */
  base64(bytes: number): string;
}

export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(0, 255)));
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => items[int(0, items.length - 1)],
    hex: (n) => bytes(n).toString("hex"),
    base64: (n) => bytes(n).toString("base64"),
  };
}
