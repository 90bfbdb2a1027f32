// Test helpers for the memory store and the demo workloads (imported by tests only).

/** Where fake clocks start: 2026-01-01T12:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A clock that moves only when told to. */
export function fakeClock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** Resolves like `promise`, or rejects once `ms` of real time pass: a test fails fast instead of hanging. */
export function soon<T>(promise: Promise<T>, ms = 1_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
