// The etcd adapter's lease monitor: every lease TTL the adapter reads after a snapshot goes
// through here (facts()), and, while live, the lease check (check()) re-reads holders' leases
// in a rotating window. Owns the not-renewed tracker (leases.ts), each lease's last flag (ok,
// not-renewed, expired), and the window's position. Contract: the TTLs are the store's
// (LeaseTimeToLive), never a countdown; check() names the lock keys whose holder lease's flag
// differs from the one their records show, so the hub re-reads them; lease calls are counted in
// the adapter's stats. Every TTL read feeds the same judgement (facts(): the check's, a re-read's,
// the page's fresh TTLs, the Leases tab), and none of them hides a change from the check: what
// the check compares with is the flag the records were last read with (a snapshot, a re-read),
// not the flag before its own read — a page that reads the TTLs every second moved that one
// first, and a frozen holder was never flagged while anyone looked (audit F7).
// It also remembers which locks are shown with their TTL unknown (a lease call failed when
// they were read): while any are, the connection has the "(leases)" problem; the check retries
// their leases first and names the locks whose lease answers again, so a passing lease outage
// clears without waiting for the next re-list.

import type { EtcdClient } from "./client";
import type { LeaseInfo } from "../../formats/etcd";
import type { Problem } from "../../model";
import { LeaseTracker, readLeases, type LeaseReadResult } from "./leases";

/** Lease TTLs re-read per live tick; a rotating window when there are more. */
const LEASES_PER_TICK = 256;

type LeaseFlag = "ok" | "not-renewed" | "expired";

/** The key of the connection's problem while some lock's TTL is unknown: no re-read of a lock key covers it by name. */
export const LEASES_PROBLEM_KEY = "(leases)";

export class LeaseMonitor {
  private readonly tracker = new LeaseTracker();
  /** Each holder lease's flag as the hub's records show it (their last snapshot or re-read); absent: "ok". */
  private shown = new Map<string, LeaseFlag>();
  /** Leases whose flag at their latest TTL read (whoever read it) differs from the shown one: check() names their locks. */
  private differs = new Set<string>();
  private tickCursor = 0;
  /** The distinct holder leases of the last holderLease seen, until leasesChanged(): 90k locks are not walked every tick. */
  private distinct: string[] | null = null;
  /** Lock key → holder lease, for the records shown with their TTL unknown (lease-ttl-unknown). */
  private unknown = new Map<string, string>();
  /** Why the last failed lease call failed: the "(leases)" problem's message while any TTL is unknown. */
  private lastError = "";

  constructor(
    private readonly client: EtcdClient,
    private readonly requestTimeoutMs: number,
    /** The adapter's counters: lease calls made here are added to them. */
    private readonly stats: { leaseCalls: number },
  ) {}

  /**
   * What a snapshot read: its leases run through the tracker (sets notRenewed; the tracker then
   * forgets every lease not among them), and which of its records got no TTL (`keys[i]`'s holder
   * lease is `leaseOf[i]`; "0": none), replacing what was remembered. `error`: the lease calls'
   * failure; without one a snapshot has read every holder lease (adapter.ts), so its 100k
   * records are not walked.
   */
  recordSnapshot(leases: Map<string, LeaseInfo>, keys: readonly string[], leaseOf: readonly string[], error?: string): void {
    this.record(leases);
    this.tracker.retain(new Set(leases.keys()));
    this.shown = new Map();
    this.differs = new Set();
    for (const info of leases.values()) this.show(info);
    this.unknown = new Map();
    if (!error) return;
    this.lastError = error;
    for (let i = 0; i < keys.length; i++) if (ttlUnread(leaseOf[i], leases)) this.unknown.set(keys[i], leaseOf[i]);
  }

  /** Which of a re-read's records (`keys`, holder lease per key in `leaseOf`) got no TTL; `gone`: lock keys now gone. */
  rereadTtls(
    keys: readonly string[],
    leaseOf: ReadonlyMap<string, string>,
    gone: readonly string[],
    leases: ReadonlyMap<string, LeaseInfo>,
    error?: string,
  ): void {
    for (const key of gone) this.unknown.delete(key);
    for (const key of keys) {
      const lease = leaseOf.get(key) ?? "0";
      const info = leases.get(lease);
      if (info) this.show(info);
      if (ttlUnread(lease, leases)) this.unknown.set(key, lease);
      else this.unknown.delete(key);
    }
    if (error) this.lastError = error;
  }

  /** The connection's lease problem: present while any record shows its TTL unknown. */
  ttlProblems(): Problem[] {
    if (this.unknown.size === 0) return [];
    return [{ key: LEASES_PROBLEM_KEY, code: "lease-ttl-unavailable", message: `LeaseTimeToLive failed, TTLs unknown: ${this.lastError}` }];
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
   * returns the locks whose lease is now not-renewed, recovered, or expired while their records
   * show otherwise (read by this check or any other TTL read since), so the hub re-reads them. Leases of records shown with their TTL unknown are asked first, every tick, and their
   * locks returned once the lease answers.
   */
  async check(holderLease: ReadonlyMap<string, string>, signal: AbortSignal): Promise<string[]> {
    const all = (this.distinct ??= [...new Set(holderLease.values())].filter((l) => l !== "0"));
    if (all.length === 0) return [];
    const start = this.tickCursor % all.length;
    const window = all.length <= LEASES_PER_TICK ? all : [...all, ...all].slice(start, start + LEASES_PER_TICK);
    this.tickCursor = start + window.length;
    const retry = this.unknownLeases();
    const batch = retry.length ? [...new Set([...retry, ...window])] : window;
    const res = await this.facts(new Set(batch), false, signal);
    // Changes since the records were read, whichever read saw them (this one, a page's).
    if (this.differs.size) {
      const inUse = new Set(all);
      for (const id of this.differs) if (!inUse.has(id)) this.differs.delete(id);
    }
    const changed = new Set(this.differs);
    for (const id of retry) if (res.leases.has(id)) changed.add(id);
    if (changed.size === 0) return [];
    return [...holderLease].filter(([, lease]) => changed.has(lease)).map(([key]) => key);
  }

  /** The distinct leases of records shown with their TTL unknown, at most a tick's worth. */
  private unknownLeases(): string[] {
    const out = new Set<string>();
    for (const lease of this.unknown.values()) {
      if (out.size >= LEASES_PER_TICK) break;
      out.add(lease);
    }
    return [...out];
  }

  /** The adapter's lock → lease map changed (a snapshot, a re-read): check() lists its leases again. */
  leasesChanged(): void {
    this.distinct = null;
  }

  private record(leases: Map<string, LeaseInfo>): void {
    this.tracker.apply(leases);
    for (const info of leases.values()) {
      if (flagOf(info) === (this.shown.get(info.id) ?? "ok")) this.differs.delete(info.id);
      else this.differs.add(info.id);
    }
  }

  /** A record now shows this lease as read (a snapshot's or a re-read's). */
  private show(info: LeaseInfo): void {
    const flag = flagOf(info);
    if (flag === "ok") this.shown.delete(info.id);
    else this.shown.set(info.id, flag);
    this.differs.delete(info.id);
  }
}

/** A record whose holder lease (`"0"`: none) is not among the leases read: shown with its TTL unknown. */
function ttlUnread(lease: string, leases: ReadonlyMap<string, LeaseInfo>): boolean {
  return lease !== "0" && !leases.has(lease);
}

function flagOf(info: LeaseInfo): LeaseFlag {
  return info.ttlSec < 0 ? "expired" : info.notRenewed ? "not-renewed" : "ok";
}
