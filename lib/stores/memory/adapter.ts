// MemoryAdapter: the StoreAdapter over a MemoryLockStore, for the embedded demo and for the
// contract tests. The store is owned by the caller (it may back several connections), so the
// adapter never starts or stops it; close() only ends the watches this adapter handed out.

import { releaseTarget } from "../release-target";
import type {
  Health,
  LockRecord,
  LockView,
  LockSnapshot,
  ReleaseMode,
  ReleaseOutcome,
  ReleasePlan,
  RereadResult,
  StoreAdapter,
  StoreChange,
} from "../../model";
import { lockRecordFromView, lockTtlMs, MEMORY_CONSISTENCY } from "./record";
import type { MemoryLockStore } from "./store";

export class MemoryAdapter implements StoreAdapter {
  readonly kind = "memory" as const;
  readonly formats = ["memory.mutex", "memory.semaphore"];
  /** Changes are pushed by watch(), so the hub needs no polling. */
  readonly updateMode = () => ({ mode: "live" as const });
  private readonly closed = new AbortController();

  constructor(
    private readonly connectionId: string,
    private readonly store: MemoryLockStore,
  ) {}

  /** An in-process store: every name is in scope, and any string is a name. */
  keyProblem(): null {
    return null;
  }

  async health(_signal: AbortSignal): Promise<Health> {
    try {
      const count = this.store.locks().length;
      return { status: "ok", message: `in-process store, ${count} ${count === 1 ? "lock" : "locks"} in use`, server: "LockDeck memory store" };
    } catch (error) {
      return { status: "degraded", message: `memory store: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  async snapshot(signal: AbortSignal): Promise<LockSnapshot> {
    signal.throwIfAborted();
    const views = this.store.locks();
    return {
      locks: views.map((v) => lockRecordFromView(this.connectionId, v)),
      problems: [],
      observedAt: new Date(views[0]?.readAt ?? this.store.now()).toISOString(),
      consistency: MEMORY_CONSISTENCY,
    };
  }

  /** Lock names in, records for those still held or awaited, and `gone` for the rest. */
  async reread(keys: string[], signal: AbortSignal): Promise<RereadResult> {
    signal.throwIfAborted();
    const locks: LockRecord[] = [];
    const gone: string[] = [];
    for (const key of new Set(keys)) {
      const view = this.store.lock(key);
      if (view) locks.push(lockRecordFromView(this.connectionId, view));
      else gone.push(key);
    }
    return { locks, gone, problems: [] };
  }

  /**
   * Batches of changed lock names, from the moment watch() is called until `signal` aborts or
   * the adapter closes. Names that change while the consumer is busy are merged into the next
   * batch, so a slow consumer costs memory per lock name, not per event.
   */
  watch(signal: AbortSignal): AsyncIterable<StoreChange> {
    const stop = AbortSignal.any([signal, this.closed.signal]);
    const pending = new Set<string>();
    let wake: (() => void) | undefined;
    // Subscribe now, not at the first next(): changes between snapshot() and iteration count.
    const unsubscribe = this.store.subscribe((keys) => {
      for (const key of keys) pending.add(key);
      wake?.();
    });
    const onAbort = () => {
      unsubscribe();
      wake?.();
    };
    stop.addEventListener("abort", onAbort, { once: true });
    if (stop.aborted) onAbort();

    async function* batches(): AsyncGenerator<StoreChange> {
      try {
        while (!stop.aborted) {
          if (pending.size === 0) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          const keys = [...pending];
          pending.clear();
          yield { keys };
        }
      } finally {
        stop.removeEventListener("abort", onAbort);
        unsubscribe();
      }
    }
    return batches();
  }

  /** Remaining TTL per lock name (null = never expires); names nobody holds are left out. */
  async ttls(keys: string[], signal: AbortSignal): Promise<Map<string, number | null>> {
    signal.throwIfAborted();
    const result = new Map<string, number | null>();
    for (const key of keys) {
      const view = this.store.lock(key);
      if (view && view.holdings.length > 0) result.set(key, lockTtlMs(view));
    }
    return result;
  }

  /** Removes exactly the holding named by lock.fence (holder id + fencing token), or nothing. */
  async forceRelease(lock: LockView, mode: ReleaseMode, signal: AbortSignal): Promise<ReleaseOutcome> {
    if (mode !== "delete") return { status: "refused", reason: `the memory store releases by delete, not ${mode}` };
    const checked = releaseTarget(lock, (f) => (f.c !== this.connectionId || f.k !== lock.key ? "the fence names another connection or lock" : null));
    if ("refused" in checked) return checked.refused;
    const fence = checked.fence;
    const { holder, token } = fence.h;
    if (typeof holder !== "string" || typeof token !== "number") {
      return { status: "refused", reason: "the fence names no holding" };
    }
    if (signal.aborted) return { status: "refused", reason: "cancelled before anything was deleted" };

    switch (this.store.releaseIf(fence.k, holder, token)) {
      case "released":
        return { status: "released", detail: `removed holding ${holder} (fencing token ${token})` };
      case "gone":
        return { status: "gone" };
      case "changed": {
        const current = this.store.lock(fence.k);
        return { status: "changed", current: current ? lockRecordFromView(this.connectionId, current) : null };
      }
    }
  }

  describeRelease(lock: LockView, _mode: ReleaseMode): ReleasePlan {
    const holder = lock.holders[0];
    const head = lock.waiters[0];
    const token = lock.fencingToken ?? "none";
    const owner = (label?: string) => (label ? ` (${label})` : "");
    return {
      modes: ["delete"],
      deletes: holder
        ? `holding ${holder.id}${owner(holder.owner)} of ${lock.key}, only while its fencing token is ${token}`
        : `nothing: ${lock.key} has no holder`,
      ...(head && { wakes: `the head waiter ${head.id}${owner(head.owner)}, which gets the lock with a new fencing token` }),
      command: `lockdeck-memory release ${lock.key} if holder=${holder?.id ?? "none"} token=${token}`,
      holderNotified: false,
      notes: [
        `The holder is not told. If it is alive it may keep working; fencing token ${token} is the guard it should check.`,
        "The memory store lives inside this LockDeck process: its locks vanish on restart.",
      ],
    };
  }

  async close(): Promise<void> {
    this.closed.abort();
  }
}
