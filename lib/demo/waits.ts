// Wait-for scenarios of the in-process demo (issue 15), so `npm run demo` shows the Waits view
// with something in it:
//   - a deadlocked pair: two ledger workers each hold one account lock and wait for the other's.
//     They stay alive (they keep renewing) and stuck until an operator force-releases one lock;
//     then the other gets it, finishes, lets go, and after a pause the pair deadlocks again;
//   - a long chain: six ETL stages, each holding its own lock and waiting for the next stage's;
//     the last stage works for five to ten minutes, then the chain unwinds stage by stage and
//     forms again after a pause (so it is there nearly all the time).
// Clients renew their leases like a keep-alive, so the only warnings are the graph's own.
// Driven by the workload's seeded scheduler (same seed, same run under fake timers).

import type { Holding, MemoryLockStore } from "../stores/memory/store";
import type { Scheduler } from "./scheduler";
import type { WorkloadLogEntry } from "./workload";

export const DEADLOCK_PAIR = {
  locks: ["ledger:account:1001", "ledger:account:2002"],
  owners: ["ledger-sync-1 pid 3101", "ledger-sync-2 pid 3102"],
} as const;

export const CHAIN = {
  locks: Array.from({ length: 6 }, (_, i) => `etl:stage:${i + 1}`),
  owners: Array.from({ length: 6 }, (_, i) => `etl-stage-${i + 1} pid ${4100 + i}`),
};

const S = 1000;
const TTL_MS = 20 * S;

/** One simulated client process: its holdings (renewed), at most one wait, and how to quit. */
class Client {
  private holdings = new Map<string, Holding>();
  private waiting: { lock: string; id: string } | null = null;
  private seq = 0;

  constructor(
    private readonly store: MemoryLockStore,
    private readonly timers: Scheduler,
    readonly owner: string,
    private readonly log?: (e: WorkloadLogEntry) => void,
  ) {}

  private id(): string {
    return `${this.owner.replace(/\W+/g, "-")}-${++this.seq}`;
  }

  /** Takes the lock if free (true), else nothing. */
  take(lock: string): boolean {
    const r = this.store.acquire(lock, { owner: this.owner, holderId: this.id(), ttlMs: TTL_MS, waitMs: 0 });
    if (r.status !== "acquired") return false;
    this.keep(lock, r.holding, r.holding.acquiredAt);
    return true;
  }

  /** Queues for the lock with no deadline; `got` runs when it is granted. */
  wait(lock: string, got: () => void): void {
    const holderId = this.id();
    const askedAt = this.store.now();
    const r = this.store.acquire(lock, { owner: this.owner, holderId, ttlMs: TTL_MS, waitMs: null });
    if (r.status === "acquired") {
      this.keep(lock, r.holding, askedAt);
      return got();
    }
    if (r.status !== "queued") return;
    this.waiting = { lock, id: holderId };
    void r.granted.then((h) => {
      this.waiting = null;
      if (!h || this.timers.stopped) return;
      this.keep(lock, h, askedAt);
      got();
    });
  }

  /** Stops waiting and lets go of everything it holds. */
  quit(): void {
    this.stopWaiting();
    this.letGo();
  }

  stopWaiting(): void {
    if (this.waiting) this.store.cancel(this.waiting.lock, this.waiting.id);
    this.waiting = null;
  }

  /** `logged`: false when the workload is stopping (its own workers' last releases are not logged either). */
  letGo(logged = true): void {
    for (const [lock, h] of this.holdings) {
      // False when an operator force-released it: then it was not this client's release.
      if (this.store.release(lock, h.holderId) && logged)
        this.log?.({ kind: "released", at: this.store.now(), lock, holderId: h.holderId, heldMs: this.store.now() - h.acquiredAt });
    }
    this.holdings.clear();
  }

  private keep(lock: string, h: Holding, askedAt: number): void {
    this.log?.({ kind: "acquired", at: h.acquiredAt, lock, holderId: h.holderId, waitedMs: h.acquiredAt - askedAt });
    this.holdings.set(lock, h);
    const renew = () =>
      this.timers.after([TTL_MS / 3, TTL_MS / 3], () => {
        if (this.holdings.get(lock) !== h) return;
        // A force-release took it: the client learns on its next renewal, as a real one would.
        if (this.store.renew(lock, h.holderId)) renew();
        else this.holdings.delete(lock);
      });
    renew();
  }
}

/** Starts both scenarios on `store` (logging to `log` like the workload's workers); stop() withdraws every wait and holding they have. */
export function startWaitScenarios(store: MemoryLockStore, timers: Scheduler, log?: (e: WorkloadLogEntry) => void): { stop(): void } {
  const pair = DEADLOCK_PAIR.owners.map((o) => new Client(store, timers, o, log));
  const chain = CHAIN.owners.map((o) => new Client(store, timers, o, log));

  const runPair = () => {
    const [a, b] = pair;
    const [l1, l2] = DEADLOCK_PAIR.locks;
    if (!a.take(l1) || !b.take(l2)) {
      a.quit();
      b.quit();
      return timers.after([5 * S, 10 * S], runPair);
    }
    let done = 0;
    // Whoever gets the other's lock (after a force-release) works a while, then lets go of both.
    const finish = (c: Client) =>
      timers.after([3 * S, 8 * S], () => {
        c.quit();
        if (++done === 2) timers.after([20 * S, 40 * S], runPair);
      });
    timers.after([1 * S, 3 * S], () => {
      a.wait(l2, () => finish(a));
      b.wait(l1, () => finish(b));
    });
  };

  const runChain = () => {
    if (!chain.every((c, i) => c.take(CHAIN.locks[i]))) {
      chain.forEach((c) => c.quit());
      return timers.after([5 * S, 10 * S], runChain);
    }
    let done = 0;
    const finish = (c: Client, workMs: readonly [number, number]) =>
      timers.after(workMs, () => {
        c.quit();
        if (++done === chain.length) timers.after([10 * S, 20 * S], runChain);
      });
    timers.after([1 * S, 3 * S], () => {
      chain.forEach((c, i) => {
        if (i < chain.length - 1) c.wait(CHAIN.locks[i + 1], () => finish(c, [2 * S, 5 * S]));
      });
      finish(chain[chain.length - 1], [300 * S, 600 * S]);
    });
  };

  timers.after([500, 2 * S], runPair);
  timers.after([500, 2 * S], runChain);
  return {
    stop() {
      // Every wait first: a release would otherwise hand a lock to a waiter nobody drives any more.
      for (const c of [...pair, ...chain]) c.stopWaiting();
      for (const c of [...pair, ...chain]) c.letGo(false);
    },
  };
}
