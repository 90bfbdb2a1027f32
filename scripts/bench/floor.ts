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
}

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
  const rounds = opts.rounds ?? 2;
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
  return { best, tried, summary };
}

/** Round `r` of a floor/snapshot pair: the order alternates, so neither side always runs second. */
export async function pairRound(r: number, floor: () => Promise<unknown>, snapshot: () => Promise<unknown>): Promise<void> {
  for (const side of r % 2 === 0 ? [floor, snapshot] : [snapshot, floor]) await side();
}
