// How a MemoryLockStore lock looks as a LockRecord. Pure: the view carries the instant it was
// read (readAt), and every remaining TTL is computed against that instant.

import type { Holder, LockRecord, Waiter } from "../../model";
import type { Holding, LockView } from "./store";

export const MEMORY_CONSISTENCY = "linearizable (in-process)";

/** Format id of a memory lock: "memory.mutex" or "memory.semaphore". */
export function memoryFormat(view: Pick<LockView, "kind">): string {
  return `memory.${view.kind}`;
}

/** Remaining lease of one holding at `at`, never negative; null = never expires. */
export function remainingMs(holding: Holding, at: number): number | null {
  return holding.expiresAt === null ? null : Math.max(0, holding.expiresAt - at);
}

/**
 * The lock's TTL as the store sees it: the soonest lease to run out among its holdings
 * (for a semaphore, when the next permit frees itself), null when no holding expires.
 */
export function lockTtlMs(view: LockView): number | null {
  const left = view.holdings.map((h) => remainingMs(h, view.readAt)).filter((ms): ms is number => ms !== null);
  return left.length > 0 ? Math.min(...left) : null;
}

/**
 * Warnings that mark a holding as abandoned: "no-expiry" (taken without a TTL, it will never
 * free itself) and "not-renewed" (no renewal for more than half the granted TTL: a live
 * keep-alive renews every third, so its owner has most likely died).
 */
export function memoryWarnings(view: LockView): string[] {
  const warnings: string[] = [];
  if (view.holdings.some((h) => h.ttlMs === null)) warnings.push("no-expiry");
  if (view.holdings.some((h) => h.ttlMs !== null && view.readAt - h.lastRenewedAt > h.ttlMs / 2)) {
    warnings.push("not-renewed");
  }
  return warnings;
}

/**
 * The record of one lock. Its fence names the oldest holding (holder id + fencing token);
 * force-release removes exactly that holding, so for a semaphore it frees one permit.
 */
export function lockRecordFromView(connection: string, view: LockView): LockRecord {
  const format = memoryFormat(view);
  const first = view.holdings[0];
  const ttlMs = lockTtlMs(view);
  return {
    connection,
    key: view.name,
    name: view.name,
    format,
    kind: view.kind,
    state: first ? "held" : "free",
    holders: view.holdings.map((h) => holderFrom(h, view.readAt)),
    waiters: view.waiters.map((w, i): Waiter => ({
      id: w.waiterId,
      position: i + 1,
      since: iso(w.enqueuedAt),
      sinceSource: "store",
      ...(w.deadline !== null && { deadline: iso(w.deadline) }),
      owner: w.owner,
      ownerKey: memoryOwnerKey(w.owner),
    })),
    ttlMs,
    ttlSource: ttlMs === null ? "none" : "lease",
    ...(first && { fencingToken: String(first.fencingToken) }),
    holding: {
      holder: first?.holderId ?? null,
      token: first?.fencingToken ?? null,
    },
    observedAt: iso(view.readAt),
    consistency: MEMORY_CONSISTENCY,
    warnings: memoryWarnings(view),
    ...(view.kind === "semaphore" && { permitsFree: view.permits - view.holdings.length }),
  };
}

/**
 * The memory store names each client by its owner label ("billing-worker-3 pid 4121"): one
 * process takes every lock under the same label, with a new holder id per acquire.
 */
export function memoryOwnerKey(owner: string): string {
  return `owner:${owner}`;
}

function holderFrom(h: Holding, at: number): Holder {
  return {
    id: h.holderId,
    owner: h.owner,
    ownerKey: memoryOwnerKey(h.owner),
    since: iso(h.acquiredAt),
    sinceObserved: false,
    sinceSource: "store",
    // The holding is its own lease here: one lease per holding, named by the holder id.
    ...(h.ttlMs !== null && { lease: { id: h.holderId, ttlMs: remainingMs(h, at)!, grantedTtlMs: h.ttlMs } }),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
