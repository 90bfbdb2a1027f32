// Timer bookkeeping shared by the demo workloads: every delay is drawn from the seeded PRNG,
// every pending timer is tracked, and stop() cancels them all, so a stopped workload leaves
// nothing scheduled behind it.

import type { Rng } from "./prng";

/** A delay range in ms, both ends included. */
export type Range = readonly [number, number];

export interface Scheduler {
  readonly stopped: boolean;
  /** A value drawn from the range. */
  draw(range: Range): number;
  /** Runs fn after a delay drawn from range (at once, synchronously, when the draw is 0); never after stop(). */
  after(range: Range, fn: () => void): void;
  /** Resolves after a delay drawn from range, or as soon as stop() is called: check `stopped` after it. */
  sleep(range: Range): Promise<void>;
  /** Cancels every pending timer and wakes every sleeper; idempotent. */
  stop(): void;
}

export function createScheduler(rng: Rng): Scheduler {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const sleepers = new Set<() => void>();
  let stopped = false;
  const draw = (range: Range) => rng.int(range[0], range[1]);
  const after = (range: Range, fn: () => void) => {
    if (stopped) return;
    const delay = draw(range);
    if (delay === 0) return fn();
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) fn();
    }, delay);
    timers.add(timer);
  };
  return {
    get stopped() {
      return stopped;
    },
    draw,
    after,
    sleep(range) {
      return new Promise<void>((resolve) => {
        if (stopped) return resolve();
        const wake = () => {
          sleepers.delete(wake);
          resolve();
        };
        sleepers.add(wake);
        after(range, wake);
      });
    },
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const wake of [...sleepers]) wake();
    },
  };
}
