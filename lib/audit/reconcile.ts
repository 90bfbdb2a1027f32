// Outcomes nobody saw. A release whose reply was lost (timeout after sending), an intent on
// disk with no outcome (the console died mid-call), or an outcome that could not be written:
// the store may or may not have applied it. Such a release is NEVER sent again; instead the
// lock is re-read, and the holding in the operator's fence decides what is audited:
//   still there  → "not_applied" (the conditional release cannot have run: a holding's ids —
//                  token value, create_revision, czxid, session+LockIndex — never come back).
//                  This assumes that what was sent can no longer land after the read: in this
//                  process the release call has ended (answered, timed out or aborted) before
//                  the request is handed here, and after a crash the dead process's
//                  connections are closed; a middlebox that holds the bytes longer than that
//                  and then delivers them would make this line wrong (the fence would still
//                  only delete that exact holding).
//   gone         → "unknown", reconciled: the holding the operator wanted gone is gone, but
//                  the store cannot say whether this release or the holder's own release or
//                  expiry removed it (or the release was never sent at all: an intent whose
//                  write failed after its bytes reached the disk), so the outcome is not
//                  guessed; the detail says the holding is gone and why that cannot be
//                  attributed. Settled either way: it is not re-read again.
// Until then the request stays pending (kept in memory, re-tried every few seconds while its
// store answers); after a restart the pending ones are found again in the audit file.

import type { StoreAdapter, LockRecord } from "../model";
import { decodeFence, fenceHolding, type Fence } from "../fence";
import { storeModule } from "../stores";
import type { AuditEntry, AuditInput, AuditLog } from "./log";

export interface ReconcileHub {
  readonly reachable: boolean;
  readonly adapter: StoreAdapter;
  applyChanges(keys: string[]): Promise<void>;
}

type Base = Omit<AuditInput, "phase" | "outcome" | "detail" | "reconciled">;

export interface Settled {
  requestId: string;
  /**
   * "unknown": it cannot be told (the holding is gone but nothing says who removed it, or the
   * fence no longer verifies); settled all the same, an operator must look if it matters.
   */
  outcome: "applied" | "not_applied" | "unknown";
}

const READ_TIMEOUT_MS = 5_000;

export class Reconciler {
  private readonly pending = new Map<string, { base: Base; since: number }>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly audit: AuditLog,
    private readonly hubOf: (connection: string) => ReconcileHub | undefined,
    private readonly onSettled: (s: Settled) => void = () => {},
    private readonly intervalMs = 2_000,
  ) {}

  /** Release intents in the file whose outcome is missing or "unknown" (oldest first). */
  load(entries: AuditEntry[]): void {
    const intents = new Map<string, AuditEntry>();
    const last = new Map<string, string>();
    for (const e of entries) {
      if ((e.action ?? "release") !== "release") continue;
      if (e.phase === "intent" && e.outcome === undefined) intents.set(e.requestId, e);
      else if (e.phase === "outcome") last.set(e.requestId, e.reconciled ? "reconciled" : (e.outcome ?? ""));
    }
    for (const [id, intent] of intents) {
      const outcome = last.get(id);
      if (outcome === undefined || outcome === "unknown") this.add(baseOf(intent), Date.parse(intent.at));
    }
  }

  add(base: Base, since = Date.now()): void {
    this.pending.set(base.requestId, { base, since });
    this.kick();
  }

  isPending(requestId: string): boolean {
    return this.pending.has(requestId);
  }

  size(): number {
    return this.pending.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Try soon (a read is likely to work now), without waiting for the next interval. */
  kick(): void {
    setTimeout(() => void this.tick(), 50).unref?.();
  }

  /** One pass over every pending request whose store answers. */
  async tick(): Promise<void> {
    if (this.running || this.pending.size === 0) return;
    this.running = true;
    try {
      for (const p of [...this.pending.values()]) {
        const hub = this.hubOf(p.base.connection);
        if (!hub?.reachable) continue;
        await this.settle(hub, p.base).catch(() => null);
      }
    } finally {
      this.running = false;
    }
  }

  /** Reads the lock and audits what it finds; leaves the request pending if either fails. */
  private async settle(hub: ReconcileHub, base: Base): Promise<void> {
    let fence: Fence;
    try {
      fence = decodeFence(base.fence);
    } catch (err) {
      // Signed by a server with another secret (the secret changed): nothing to compare with.
      this.record(base, "unknown", `cannot be reconciled: ${(err as Error).message}; look at the lock itself`);
      return;
    }
    const current = await readCurrent(hub.adapter, base.key);
    if (current === undefined) return;
    const ids = (h: Fence["h"]) => storeModule(hub.adapter.kind).holdingIds(h, base.mode);
    const seen = ids(fence.h);
    const now = current ? ids(fenceHolding(current.holding)) : [];
    const present = seen.some((id) => now.includes(id));
    const at = new Date().toISOString();
    const outcome = present ? "not_applied" : "unknown";
    const detail = present
      ? `reconciled by a fresh read at ${at}: the holding you saw is still there, so this release did not take effect; nothing was deleted`
      : `the holding you saw is gone, but who removed it cannot be told: this release, or its holder or its expiry in the same window (the store keeps no record of which), so the outcome stays unknown (re-read at ${at})`;
    this.record(base, outcome, detail);
    await hub.applyChanges([base.key]).catch(() => {});
  }

  /** Throws while the audit trail cannot be written: the request then stays pending. */
  private record(base: Base, outcome: Settled["outcome"], detail: string): void {
    this.audit.append({ ...base, phase: "outcome", outcome, reconciled: true, detail });
    this.pending.delete(base.requestId);
    this.onSettled({ requestId: base.requestId, outcome });
  }
}

/** The lock as the store has it now (null: no lock there), or undefined if it could not be read. */
async function readCurrent(adapter: StoreAdapter, key: string): Promise<LockRecord | null | undefined> {
  const signal = AbortSignal.timeout(READ_TIMEOUT_MS);
  const read = async () => {
    if (adapter.reread) return (await adapter.reread([key], signal)).locks.find((l) => l.key === key) ?? null;
    return (await adapter.snapshot(signal)).locks.find((l) => l.key === key) ?? null;
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), READ_TIMEOUT_MS)));
  try {
    return await Promise.race([read().catch(() => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function baseOf(e: AuditEntry): Base {
  return {
    action: e.action ?? "release",
    requestId: e.requestId,
    actor: e.actor,
    role: e.role,
    connection: e.connection,
    key: e.key,
    format: e.format,
    fence: e.fence,
    reason: e.reason,
    mode: e.mode,
    approvedBy: e.approvedBy,
    sourceIp: e.sourceIp,
    userAgent: e.userAgent,
  };
}
