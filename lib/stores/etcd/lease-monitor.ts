// The etcd adapter's lease monitor: every lease TTL the adapter reads after a snapshot goes
// through here (facts()), and, while live, the lease check (check()) re-reads holders' leases
// in a rotating window. Owns the not-renewed tracker (leases.ts), each lease's last flag (ok,
// not-renewed, expired), and the window's position. Contract: the TTLs are the store's
// (LeaseTimeToLive), never a countdown; check() names the lock keys whose holder lease changed
// flag, so the hub re-reads them; lease calls are counted in the adapter's stats.

import type { EtcdClient } from "./client";
import type { LeaseInfo } from "../../formats/etcd";
import { LeaseTracker, readLeases, type LeaseReadResult } from "./leases";

/** Lease TTLs re-read per live tick; a rotating window when there are more. */
const LEASES_PER_TICK = 256;

type LeaseFlag = "ok" | "not-renewed" | "expired";

export class LeaseMonitor {
  private readonly tracker = new LeaseTracker();
  private flags = new Map<string, LeaseFlag>();
  private tickCursor = 0;
  /** The distinct holder leases of the last holderLease seen, until leasesChanged(): 90k locks are not walked every tick. */
  private distinct: string[] | null = null;

  constructor(
    private readonly client: EtcdClient,
    private readonly requestTimeoutMs: number,
    /** The adapter's counters: lease calls made here are added to them. */
    private readonly stats: { leaseCalls: number },
  ) {}

  /**
   * The leases a snapshot read (while paging, and holders' leases after): run through the
   * tracker (sets notRenewed); the tracker then forgets every lease not among them.
   */
  recordSnapshot(leases: Map<string, LeaseInfo>): void {
    this.record(leases);
    this.tracker.retain(new Set(leases.keys()));
  }

  /** LeaseTimeToLive for these leases (`keys`: with their attached keys), run through the not-renewed tracker. */
  async facts(ids: Set<string>, keys: boolean, signal: AbortSignal, timeoutMs = this.requestTimeoutMs): Promise<LeaseReadResult> {
    const res = await readLeases(this.client, ids, { keys, timeoutMs }, signal);
    this.stats.leaseCalls += res.calls;
    this.record(res.leases);
    return res;
  }

  /** The lease's TTL has only fallen for longer than a keep-alive interval (leases.ts). */
  notRenewed(id: string): boolean {
    return this.tracker.flagged(id);
  }

  /**
   * Live lease check: re-reads some holders' lease TTLs (`holderLease`: lock key → lease) and
   * returns the locks whose lease became not-renewed, recovered, or expired, so the hub re-reads them.
   */
  async check(holderLease: ReadonlyMap<string, string>, signal: AbortSignal): Promise<string[]> {
    const all = (this.distinct ??= [...new Set(holderLease.values())].filter((l) => l !== "0"));
    if (all.length === 0) return [];
    const start = this.tickCursor % all.length;
    const batch = all.length <= LEASES_PER_TICK ? all : [...all, ...all].slice(start, start + LEASES_PER_TICK);
    this.tickCursor = start + batch.length;
    const before = new Map(batch.map((id) => [id, this.flags.get(id) ?? "ok"]));
    const res = await this.facts(new Set(batch), false, signal);
    const changed = new Set(batch.filter((id) => res.leases.has(id) && this.flags.get(id) !== before.get(id)));
    if (changed.size === 0) return [];
    return [...holderLease].filter(([, lease]) => changed.has(lease)).map(([key]) => key);
  }

  /** The adapter's lock → lease map changed (a snapshot, a re-read): check() lists its leases again. */
  leasesChanged(): void {
    this.distinct = null;
  }

  private record(leases: Map<string, LeaseInfo>): void {
    this.tracker.apply(leases);
    for (const info of leases.values()) this.flags.set(info.id, flagOf(info));
  }
}

function flagOf(info: LeaseInfo): LeaseFlag {
  return info.ttlSec < 0 ? "expired" : info.notRenewed ? "not-renewed" : "ok";
}
