// MemoryLockStore: an in-process lock store with the semantics LockDeck sees in the real ones:
// leases with a TTL (or none at all: the SETNX-without-TTL mistake), FIFO waiters that may
// give up, a fencing counter per lock, and change notifications. It backs the embedded demo
// and the adapter contract tests, so it must behave like a store, not like a mock.
//
// Time comes only from the injected clock, so tests drive it by hand. Expiry is processed
// lazily at the start of every operation and by the store's own sweep timer (start/stop), so
// an expired lease is noticed and announced even when nobody is reading. Events are applied in
// time order "as if on time": a lease that expired at t hands over at t, even if the sweep
// runs later, so the outcome does not depend on when the store was looked at.

import { randomBytes } from "node:crypto";

export type MemoryLockKind = "mutex" | "semaphore";

/** One granted permit of a lock. Times are epoch ms on the store's clock. */
export interface Holding {
  readonly holderId: string;
  readonly owner: string;
  readonly acquiredAt: number;
  /** Granted lease length in ms; null = never expires. */
  readonly ttlMs: number | null;
  readonly expiresAt: number | null;
  readonly lastRenewedAt: number;
  /** Value of the lock's fencing counter when this holding was granted. */
  readonly fencingToken: number;
}

/** A queued acquire. It becomes a Holding with holderId = waiterId when granted. */
export interface Waiting {
  readonly waiterId: string;
  readonly owner: string;
  readonly enqueuedAt: number;
  /** When the waiter gives up; null = waits forever. */
  readonly deadline: number | null;
  /** The lease it asked for. */
  readonly ttlMs: number | null;
}

/** A copy of one lock's state, taken at `readAt` (store clock). */
export interface LockView {
  readonly name: string;
  readonly kind: MemoryLockKind;
  readonly permits: number;
  /** Oldest first. */
  readonly holdings: readonly Holding[];
  /** Queue order, head first. */
  readonly waiters: readonly Waiting[];
  readonly fencingCounter: number;
  readonly readAt: number;
}

export interface AcquireRequest {
  /** Human label of the client, e.g. "billing-worker-3 pid 4121". */
  owner: string;
  /** Lease to grant in ms; null = never expires. */
  ttlMs: number | null;
  /** The caller's unique token; a random 32-hex id when absent. */
  holderId?: string;
  /** 0 = try once, never queue; a number = give up after that many ms; absent/null = wait forever. */
  waitMs?: number | null;
  kind?: MemoryLockKind;
  /** Semaphores only: how many holders at once. */
  permits?: number;
}

export type AcquireResult =
  | { status: "acquired"; holding: Holding }
  /** `granted` resolves with the holding when this waiter reaches the lock, or null when it gives up or is cancelled. Never rejects. */
  | { status: "queued"; waiterId: string; granted: Promise<Holding | null> }
  | { status: "busy" };

export type ReleaseIfResult = "released" | "changed" | "gone";

export interface MemoryLockStoreOptions {
  now?: () => number;
  /** How often the sweep timer processes expiries once start() is called. Default 100 ms. */
  sweepIntervalMs?: number;
}

type MutableHolding = { -readonly [K in keyof Holding]: Holding[K] };
interface QueuedWaiter extends Waiting {
  settle(holding: Holding | null): void;
}
interface LockEntry {
  name: string;
  kind: MemoryLockKind;
  permits: number;
  holdings: MutableHolding[];
  waiters: QueuedWaiter[];
  /** Survives the lock going idle: fencing tokens never repeat for a name. */
  fencingCounter: number;
}

export class MemoryLockStore {
  /** The store's clock (epoch ms). Adapters use it so TTLs and observedAt agree with the store. */
  readonly now: () => number;
  private readonly sweepIntervalMs: number;
  private readonly entries = new Map<string, LockEntry>();
  private readonly listeners = new Set<(keys: string[]) => void>();
  private readonly changed = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryLockStoreOptions = {}) {
    // Read Date.now at call time, so fake timers installed later still drive the default clock.
    this.now = options.now ?? (() => Date.now());
    this.sweepIntervalMs = options.sweepIntervalMs ?? 100;
  }

  /** Starts the sweep timer (idempotent). It does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Processes expiries and deadlines up to now; emits what changed. */
  sweep(): void {
    this.op(() => undefined);
  }

  /** Listener gets the names of locks whose holders or waiters changed. Returns unsubscribe. */
  subscribe(listener: (keys: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many listeners are subscribed: lets tests and metrics catch leaked watches. */
  listenerCount(): number {
    return this.listeners.size;
  }

  /** Takes a permit at once if one is free and nobody queues before us; else queues (FIFO) or answers busy. */
  acquire(name: string, req: AcquireRequest): AcquireResult {
    return this.op((now) => {
      if (req.ttlMs !== null && !(req.ttlMs > 0)) throw new RangeError(`ttlMs must be > 0 or null, got ${req.ttlMs}`);
      const entry = this.entryFor(name, req.kind ?? "mutex", req.permits ?? 1);
      const holderId = req.holderId ?? randomBytes(16).toString("hex");
      if (entry.holdings.some((h) => h.holderId === holderId) || entry.waiters.some((w) => w.waiterId === holderId)) {
        throw new Error(`${holderId} already holds or waits for ${name} (no reentrancy)`);
      }
      if (entry.holdings.length < entry.permits && entry.waiters.length === 0) {
        return { status: "acquired", holding: { ...this.grant(entry, holderId, req.owner, req.ttlMs, now) } };
      }
      if (req.waitMs === 0) return { status: "busy" };
      let settle!: (holding: Holding | null) => void;
      const granted = new Promise<Holding | null>((resolve) => (settle = resolve));
      entry.waiters.push({
        waiterId: holderId,
        owner: req.owner,
        enqueuedAt: now,
        deadline: req.waitMs == null ? null : now + req.waitMs,
        ttlMs: req.ttlMs,
        settle: (h) => settle(h && { ...h }),
      });
      this.changed.add(name);
      return { status: "queued", waiterId: holderId, granted };
    });
  }

  /** Resets the lease of a live holding to its granted TTL. False when the holding is gone (expired or released). */
  renew(name: string, holderId: string): boolean {
    return this.op((now) => {
      const holding = this.entries.get(name)?.holdings.find((h) => h.holderId === holderId);
      if (!holding) return false;
      holding.lastRenewedAt = now;
      if (holding.ttlMs !== null) holding.expiresAt = now + holding.ttlMs;
      this.changed.add(name);
      return true;
    });
  }

  /** The holder's own release. False when it no longer holds. The head waiter gets the permit. */
  release(name: string, holderId: string): boolean {
    return this.op((now) => this.remove(name, holderId, null, now) === "released");
  }

  /**
   * Conditional delete for force-release: removes the holding only if `holderId` still holds
   * with exactly `fencingToken`. "gone" = nobody holds the lock; "changed" = someone else does.
   */
  releaseIf(name: string, holderId: string, fencingToken: number): ReleaseIfResult {
    return this.op((now) => this.remove(name, holderId, fencingToken, now));
  }

  /** Withdraws a queued waiter (its `granted` resolves null). False when it is not queued. */
  cancel(name: string, waiterId: string): boolean {
    return this.op(() => {
      const entry = this.entries.get(name);
      const index = entry?.waiters.findIndex((w) => w.waiterId === waiterId) ?? -1;
      if (!entry || index < 0) return false;
      entry.waiters.splice(index, 1)[0].settle(null);
      this.changed.add(name);
      return true;
    });
  }

  /** Every lock that has holders or waiters (an idle lock is not listed, as in real stores). */
  locks(): LockView[] {
    return this.op((now) => [...this.entries.values()].filter(isActive).map((e) => view(e, now)));
  }

  /** One lock, or undefined when nobody holds or waits for it. */
  lock(name: string): LockView | undefined {
    return this.op((now) => {
      const entry = this.entries.get(name);
      return entry && isActive(entry) ? view(entry, now) : undefined;
    });
  }

  /** Runs one operation at a single instant: settle time first, then the change, then notify. */
  private op<T>(fn: (now: number) => T): T {
    const now = this.now();
    for (const entry of this.entries.values()) this.settle(entry, now);
    try {
      return fn(now);
    } finally {
      this.emit();
    }
  }

  private entryFor(name: string, kind: MemoryLockKind, permits: number): LockEntry {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError(`permits must be a positive integer, got ${permits}`);
    if (kind === "mutex" && permits !== 1) throw new RangeError("a mutex has exactly 1 permit");
    const entry = this.entries.get(name);
    if (!entry) {
      const created: LockEntry = { name, kind, permits, holdings: [], waiters: [], fencingCounter: 0 };
      this.entries.set(name, created);
      return created;
    }
    if (entry.kind !== kind || entry.permits !== permits) {
      if (isActive(entry)) throw new Error(`${name} is a ${entry.kind} with ${entry.permits} permit(s) while in use`);
      entry.kind = kind;
      entry.permits = permits;
    }
    return entry;
  }

  private grant(entry: LockEntry, holderId: string, owner: string, ttlMs: number | null, at: number): MutableHolding {
    entry.fencingCounter += 1;
    const holding: MutableHolding = {
      holderId,
      owner,
      acquiredAt: at,
      ttlMs,
      expiresAt: ttlMs === null ? null : at + ttlMs,
      lastRenewedAt: at,
      fencingToken: entry.fencingCounter,
    };
    entry.holdings.push(holding);
    this.changed.add(entry.name);
    return holding;
  }

  /** Gives free permits to the head of the queue, in order. */
  private handOver(entry: LockEntry, at: number): void {
    while (entry.holdings.length < entry.permits && entry.waiters.length > 0) {
      const waiter = entry.waiters.shift()!;
      waiter.settle(this.grant(entry, waiter.waiterId, waiter.owner, waiter.ttlMs, at));
    }
  }

  private remove(name: string, holderId: string, fencingToken: number | null, now: number): ReleaseIfResult {
    const entry = this.entries.get(name);
    if (!entry || entry.holdings.length === 0) return "gone";
    const index = entry.holdings.findIndex((h) => h.holderId === holderId && (fencingToken === null || h.fencingToken === fencingToken));
    if (index < 0) return "changed";
    entry.holdings.splice(index, 1);
    this.changed.add(name);
    this.handOver(entry, now);
    return "released";
  }

  /** Applies every expiry and give-up due by `now`, each at its own instant, in time order. */
  private settle(entry: LockEntry, now: number): void {
    for (let at = nextEventAt(entry); at !== null && at <= now; at = nextEventAt(entry)) {
      const t = at;
      entry.holdings = entry.holdings.filter((h) => h.expiresAt === null || h.expiresAt > t);
      const gaveUp = entry.waiters.filter((w) => w.deadline !== null && w.deadline <= t);
      entry.waiters = entry.waiters.filter((w) => !gaveUp.includes(w));
      for (const w of gaveUp) w.settle(null);
      this.handOver(entry, t);
      this.changed.add(entry.name);
    }
  }

  private emit(): void {
    if (this.changed.size === 0) return;
    const keys = [...this.changed];
    this.changed.clear();
    for (const listener of this.listeners) {
      // A failing listener must not break the store or starve the others.
      try {
        listener(keys);
      } catch (error) {
        console.error("memory store: change listener failed", error);
      }
    }
  }
}

function isActive(entry: LockEntry): boolean {
  return entry.holdings.length > 0 || entry.waiters.length > 0;
}

/** Earliest lease expiry or waiter deadline of a lock, or null when nothing is due ever. */
function nextEventAt(entry: LockEntry): number | null {
  let next: number | null = null;
  for (const h of entry.holdings) if (h.expiresAt !== null && (next === null || h.expiresAt < next)) next = h.expiresAt;
  for (const w of entry.waiters) if (w.deadline !== null && (next === null || w.deadline < next)) next = w.deadline;
  return next;
}

function view(entry: LockEntry, readAt: number): LockView {
  return {
    name: entry.name,
    kind: entry.kind,
    permits: entry.permits,
    holdings: entry.holdings.map((h) => ({ ...h })),
    waiters: entry.waiters.map(({ settle: _settle, ...w }) => w),
    fencingCounter: entry.fencingCounter,
    readAt,
  };
}
