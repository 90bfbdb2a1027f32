// Waiting on a store request with a deadline of our own, apart from the request's: a health
// check stops waiting after a few seconds, but its request may still be answered — and a store
// whose answers come late is slow, not down (Health.late; the hub shows "slow" while they keep
// coming, lib/hub/health.ts).

/** `p`, or a rejection after `ms` or when `signal` aborts; `p` itself is not cancelled. */
export function withTimeout<T>(p: Promise<T>, ms: number, signal: AbortSignal, what = "timed out"): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms);
    const onAbort = () => reject(signal.reason ?? new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  });
}

/**
 * How long a health probe's request may stay out after the check stopped waiting for it: its
 * own deadline (gRPC, HTTP). No answer by then is a failure after all.
 */
export const LATE_MS = 30_000;

export type Probed<T> = { ok: true; value: T } | { ok: false; message: string; late?: Promise<string | null> };

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * A health probe's answer within `ms`; else why not, and — when the wait ended with the request
 * still out — `late`: resolves null if the answer comes after all, or with why it never did.
 */
export async function probe<T>(request: Promise<T>, ms: number, signal: AbortSignal, describe: (err: unknown) => string = messageOf): Promise<Probed<T>> {
  // Registered first, so `settled` is true by the time a failure of the request itself reaches
  // the catch below; a timeout leaves it false.
  let settled = false;
  const late = request.then(
    () => ((settled = true), null),
    (err: unknown) => ((settled = true), describe(err)),
  );
  try {
    return { ok: true, value: await withTimeout(request, ms, signal) };
  } catch (err) {
    return { ok: false, message: describe(err), ...(settled ? {} : { late }) };
  }
}
