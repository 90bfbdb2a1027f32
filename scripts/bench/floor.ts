// The "floor" of a store: the fastest raw read a plain client of that store can do, in this
// run, on this machine. Each store's bench offers candidate reads (batch sizes, pipelining,
// multi-key commands); pickFloor() runs them all, interleaved, and keeps the fastest, so the
// ratios in the report are against the best a plain client managed here, with its settings.

import { ms, since } from "./stats";

export interface FloorCandidate {
  /** The floor's own settings, as the report shows them. */
  label: string;
  /** Reads everything once; returns how many items it read (checked against `expected`). */
  read: () => Promise<number>;
}

export interface PickedFloor<C extends FloorCandidate> {
  best: C;
  /** Every candidate with its best time in the pre-run, fastest first. */
  tried: Array<{ label: string; ms: number }>;
  summary: string;
  /** How many times the pre-run read each candidate (and so the snapshot's untimed reads). */
  rounds: number;
}

/** How many times pickFloor reads each candidate unless told otherwise (the method texts name it). */
export const PRE_RUN_ROUNDS = 2;

/**
 * Runs every candidate `rounds` times (round-robin, so load that drifts hits all alike) and
 * returns the one with the lowest best time. Best, not median: on a shared machine the minimum
 * is the closest estimate of what the read costs when nothing else interferes.
 */
export async function pickFloor<C extends FloorCandidate>(
  candidates: C[],
  expected: number,
  opts: { rounds?: number; log?: (line: string) => void; beforeEach?: () => void } = {},
): Promise<PickedFloor<C>> {
  const rounds = opts.rounds ?? PRE_RUN_ROUNDS;
  const times = new Map<string, number[]>(candidates.map((c) => [c.label, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate the direction so no candidate always runs right after the same neighbour.
    const order = r % 2 === 0 ? candidates : [...candidates].reverse();
    for (const c of order) {
      opts.beforeEach?.();
      const t0 = performance.now();
      const got = await c.read();
      const took = since(t0);
      if (got !== expected) throw new Error(`floor candidate "${c.label}" read ${got} items, expected ${expected}`);
      times.get(c.label)!.push(took);
    }
  }
  const tried = candidates.map((c) => ({ label: c.label, ms: Math.min(...times.get(c.label)!) })).sort((a, b) => a.ms - b.ms);
  const best = candidates.find((c) => c.label === tried[0].label)!;
  const summary = `fastest of ${candidates.length} candidate reads (best of ${rounds} each): ${tried
    .slice(0, 4)
    .map((t) => `${t.label} ${ms(t.ms)}`)
    .join("; ")}${tried.length > 4 ? `; … slowest ${tried.at(-1)!.label} ${ms(tried.at(-1)!.ms)}` : ""}`;
  opts.log?.(`  floor pre-run: ${summary}`);
  return { best, tried, summary, rounds };
}

/**
 * The snapshot's untimed reads before the timed rounds: as many as the floor's pre-run read each
 * candidate, so neither side is timed while V8 is still compiling its code (a process's first
 * Consul snapshots took 68.8, 49.3, 34.8 and 24.1 ms of CPU, the next eleven 17.5 ms at the
 * median; docs/benchmarks.md). Resolves to the first read's wall time, which the rows show: it is
 * the read a console's start waits for.
 */
export async function untimedReads(times: number, read: () => Promise<unknown>, beforeEach?: () => void): Promise<number> {
  let first = 0;
  for (let i = 0; i < times; i++) {
    beforeEach?.();
    const t0 = performance.now();
    await read();
    if (i === 0) first = since(t0);
  }
  return first;
}

/** Round `r` of a floor/snapshot pair: the order alternates, so neither side always runs second. */
export async function pairRound(r: number, floor: () => Promise<unknown>, snapshot: () => Promise<unknown>): Promise<void> {
  for (const side of r % 2 === 0 ? [floor, snapshot] : [snapshot, floor]) await side();
}
