// A store adapter whose snapshots are what a test sets, for the hub's own contract and what is
// built on it (imported by tests only; every adapter itself is tested against its real store).

import type { LockRecord, LockSnapshot, StoreAdapter, StoreChange, UpdateMode } from "../../lib/model";

export class ScriptedAdapter implements StoreAdapter {
  readonly kind = "memory" as const;
  readonly formats = ["t"];
  keyProblem = () => null;
  /** Snapshots taken so far. */
  snapshots = 0;
  /** What the next snapshot answers. */
  locks: LockRecord[] = [];
  /** True: health says unreachable and snapshots throw. */
  fail = false;
  updateMode: () => { mode: UpdateMode; intervalMs?: number } = () => ({ mode: "live" });
  async health() {
    return this.fail ? { status: "unreachable" as const, message: "down" } : { status: "ok" as const, message: "" };
  }
  async snapshot(): Promise<LockSnapshot> {
    this.snapshots++;
    if (this.fail) throw new Error("down");
    return { locks: this.locks, problems: [], observedAt: new Date().toISOString(), consistency: "x" };
  }
  async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    // A quiet feed: never yields, ends when aborted.
    await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
  }
  async forceRelease() {
    return { status: "gone" as const };
  }
  describeRelease() {
    return { modes: [], deletes: "", command: "", holderNotified: false, notes: [] };
  }
  async close() {}
}

/** A lock of connection "c" that `holder` holds, as the scripted adapter's snapshots carry them. */
export function scriptedLock(key: string, holder: string, o: { ttlMs?: number; observedAt?: number } = {}): LockRecord {
  return {
    connection: "c",
    key,
    name: key,
    format: "t",
    kind: "mutex",
    state: "held",
    holders: [{ id: holder }],
    waiters: [],
    ttlMs: o.ttlMs ?? 1000,
    ttlSource: "pttl",
    holding: { holder },
    observedAt: new Date(o.observedAt ?? Date.now()).toISOString(),
    consistency: "x",
    warnings: [],
  };
}
