// The demo workload for the in-process store: simulated worker processes that contend for
// the catalogue's locks the way real fleets do. Bursty workers queue for short holds, steady
// ones keep renewing long leases, and some die mid-hold: their lease runs down unrenewed, or,
// taken without a TTL, the lock stays held forever.
//
// Everything is driven by timers and a seeded PRNG, so with fake timers the same seed gives
// the same run. The caller owns the store (and its sweep timer, store.start()); stop() clears
// the workload's timers, withdraws its live workers' waits and holds, and leaves the dead
// workers' locks where they are, as a real fleet shutdown would.

import type { Holding, MemoryLockStore } from "../stores/memory/store";
import { demoLocks, workersFor, type DemoLock, type WorkerPlan } from "./catalogue";
import { createRng } from "./prng";
import { createScheduler } from "./scheduler";
import { startWaitScenarios } from "./waits";

export interface WorkloadOptions {
  /** Same seed, same run (under fake timers). Default 1. */
  seed?: number;
  /** How many catalogue locks to use. Default 28. */
  locks?: number;
  /** Ground truth for tests (lib/history): what the workers did, as they did it. */
  log?: (e: WorkloadLogEntry) => void;
}

/** One worker action. waitedMs: from asking to holding; heldMs: from holding to its own release. */
export type WorkloadLogEntry =
  | { kind: "acquired"; at: number; lock: string; holderId: string; waitedMs: number }
  | { kind: "released"; at: number; lock: string; holderId: string; heldMs: number }
  | { kind: "crashed"; at: number; lock: string; holderId: string }
  | { kind: "gave-up"; at: number; lock: string; holderId: string };

/** Starts the workload on `store`. Returns stop(), which is idempotent. */
export function startWorkload(store: MemoryLockStore, opts: WorkloadOptions = {}): { stop(): void } {
  const rng = createRng(opts.seed ?? 1);
  const timers = createScheduler(rng);
  /** What live workers hold or wait for, so stop() can withdraw it. Dead workers are not here. */
  const live = new Map<string, { lock: string; id: string; state: "waiting" | "holding" }>();

  function runWorker(lock: DemoLock, plan: WorkerPlan, index: number): () => void {
    const worker = `${lock.name}#${index}`;
    let pid = rng.int(1000, 65000);

    let askedAt = 0;
    const attempt = () => {
      const holderId = rng.hex(16);
      askedAt = store.now();
      const result = store.acquire(lock.name, {
        owner: `${lock.service}-${index + 1} pid ${pid}`,
        holderId,
        ttlMs: plan.ttlMs && timers.draw(plan.ttlMs),
        waitMs: plan.waitMs && timers.draw(plan.waitMs),
        kind: lock.profile === "semaphore" ? "semaphore" : "mutex",
        permits: lock.permits ?? 1,
      });
      if (result.status === "acquired") return hold(result.holding);
      if (result.status === "busy") return pause();
      live.set(worker, { lock: lock.name, id: holderId, state: "waiting" });
      void result.granted.then((holding) => {
        if (timers.stopped) return;
        if (holding) hold(holding);
        else {
          opts.log?.({ kind: "gave-up", at: store.now(), lock: lock.name, holderId });
          pause();
        }
      });
    };

    const pause = () => {
      live.delete(worker);
      timers.after(plan.thinkMs, attempt);
    };

    const hold = (holding: Holding) => {
      opts.log?.({ kind: "acquired", at: holding.acquiredAt, lock: lock.name, holderId: holding.holderId, waitedMs: holding.acquiredAt - askedAt });
      if (rng.chance(plan.crashChance)) {
        opts.log?.({ kind: "crashed", at: store.now(), lock: lock.name, holderId: holding.holderId });
        return crash(holding);
      }
      live.set(worker, { lock: lock.name, id: holding.holderId, state: "holding" });
      let held = true;
      keepRenewing(holding, Infinity, () => held);
      timers.after(plan.holdMs, () => {
        held = false;
        const released = store.release(lock.name, holding.holderId); // false if an operator force-released it: fine
        if (released) opts.log?.({ kind: "released", at: store.now(), lock: lock.name, holderId: holding.holderId, heldMs: store.now() - holding.acquiredAt });
        pause();
      });
    };

    // Dies holding the lock: renews a few times, then goes silent and never releases. A
    // supervisor restarts it (new pid) once the lease would have run out.
    const crash = (holding: Holding) => {
      live.delete(worker);
      if (holding.ttlMs === null) return;
      const renewals = rng.int(0, 2);
      keepRenewing(holding, renewals, () => true);
      const silentAt = Math.round((renewals * holding.ttlMs) / 3) + holding.ttlMs;
      timers.after([silentAt + 2_000, silentAt + 10_000], () => {
        pid = rng.int(1000, 65000);
        attempt();
      });
    };

    // A keep-alive at a third of the lease, as etcd sessions and Redisson's watchdog do.
    const keepRenewing = (holding: Holding, times: number, active: () => boolean) => {
      if (holding.ttlMs === null || times <= 0) return;
      const every = Math.round(holding.ttlMs / 3);
      timers.after([every, every], () => {
        if (active() && store.renew(lock.name, holding.holderId)) keepRenewing(holding, times - 1, active);
      });
    };

    return attempt;
  }

  for (const lock of demoLocks(opts.locks)) {
    workersFor(lock, rng).forEach((plan, index) => {
      const attempt = runWorker(lock, plan, index);
      if (index === 0) attempt();
      else timers.after([200, 3_000], attempt);
    });
  }

  // A deadlocked pair and a long chain for the Waits view (lib/demo/waits.ts).
  const waits = startWaitScenarios(store, timers, opts.log);

  return {
    stop() {
      if (timers.stopped) return;
      timers.stop();
      waits.stop();
      // Waits first: a release would otherwise hand the lock to a waiter nobody drives any more.
      for (const w of live.values()) if (w.state === "waiting") store.cancel(w.lock, w.id);
      for (const w of live.values()) if (w.state === "holding") store.release(w.lock, w.id);
      live.clear();
    },
  };
}
