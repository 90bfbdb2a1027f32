// The first step of every adapter's forceRelease, before any store call: the fence verifies
// (lib/fence.ts) and everything it names is in the connection's scope (lib/stores/<kind>/
// scope.ts). Either the fence, or the refusal to return.

import { decodeFence, isFenceError, type Fence } from "../fence";
import type { LockView, ReleaseOutcome } from "../model";

export function releaseTarget(lock: LockView, scopeProblem: (fence: Fence) => string | null): { fence: Fence } | { refused: ReleaseOutcome } {
  let fence: Fence;
  try {
    fence = decodeFence(lock.fence);
  } catch (err) {
    if (isFenceError(err)) return { refused: { status: "refused", reason: err.message } };
    throw err;
  }
  const outside = scopeProblem(fence);
  return outside ? { refused: { status: "refused", reason: `${outside}: nothing was sent` } } : { fence };
}
