// Lease facts, always from the store: remaining and granted TTL from LeaseTimeToLive (never a
// countdown of ours), attached keys when asked, and a tracker that notices a lease whose TTL
// only falls (nobody sends keep-alives: the holder is paused, dead, or cut off).

import type { EtcdClient } from "./client";
import type { LeaseInfo } from "../../formats/etcd";
import type { LeaseTtlReply } from "./wire";

export interface LeaseReadResult {
  leases: Map<string, LeaseInfo>;
  /** Set when reading stopped early (the member cannot answer lease calls: no leader, down). */
  error?: string;
  calls: number;
}

/**
 * LeaseTimeToLive for each id (decimal strings), `concurrency` at a time. The first failure
 * stops the rest: a member that cannot answer one lease call (LeaseTimeToLive goes to the
 * leader) will not answer the others, and waiting out every deadline would stall the read.
 */
export async function readLeases(
  client: EtcdClient,
  ids: Iterable<string>,
  o: { keys: boolean; concurrency?: number; timeoutMs: number },
  signal: AbortSignal,
): Promise<LeaseReadResult> {
  const queue = [...new Set(ids)].filter((id) => id !== "0");
  const out: LeaseReadResult = { leases: new Map(), calls: 0 };
  let next = 0;
  const worker = async () => {
    while (next < queue.length && !out.error && !signal.aborted) {
      const id = queue[next++];
      out.calls++;
      try {
        out.leases.set(id, leaseInfo(id, await client.rpc.leaseTimeToLive(id, o.keys, o.timeoutMs), o.keys));
      } catch (err) {
        out.error ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 16, queue.length) }, worker));
  return out;
}

function leaseInfo(id: string, r: LeaseTtlReply, keys: boolean): LeaseInfo {
  return keys ? { id, ttlSec: r.ttlSec, grantedSec: r.grantedSec, keys: r.keys } : { id, ttlSec: r.ttlSec, grantedSec: r.grantedSec };
}

/**
 * LeaseTimeToLive calls that start while the ranges are still paging: add() ids as pages
 * arrive, done() when the last page is in. Same contract as readLeases (first failure stops
 * the rest); ids past `cap` are not read here, the caller reads the ones it needs afterwards.
 */
export class LeaseBatch {
  private readonly queue: string[] = [];
  private readonly seen = new Set<string>();
  private next = 0;
  private running = 0;
  private idle: (() => void) | null = null;
  readonly result: LeaseReadResult = { leases: new Map(), calls: 0 };

  constructor(
    private readonly client: EtcdClient,
    private readonly o: { keys: boolean; concurrency: number; timeoutMs: number; cap: number },
    private readonly signal: AbortSignal,
  ) {}

  add(id: string): void {
    if (id === "0" || this.seen.has(id) || this.seen.size >= this.o.cap) return;
    this.seen.add(id);
    this.queue.push(id);
    while (this.running < this.o.concurrency && this.next < this.queue.length) void this.work();
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  private async work(): Promise<void> {
    this.running++;
    const out = this.result;
    while (this.next < this.queue.length && !out.error && !this.signal.aborted) {
      const id = this.queue[this.next++];
      out.calls++;
      try {
        out.leases.set(id, leaseInfo(id, await this.client.rpc.leaseTimeToLive(id, this.o.keys, this.o.timeoutMs), this.o.keys));
      } catch (err) {
        out.error ??= (err as Error).message;
      }
    }
    this.running--;
    if (this.running === 0) this.idle?.();
  }

  /** Resolves once every id added so far was read (or reading stopped at a failure). */
  done(): Promise<LeaseReadResult> {
    if (this.running === 0) return Promise.resolve(this.result);
    return new Promise((resolve) => (this.idle = () => resolve(this.result)));
  }
}

/** Slack for etcd's whole-second TTLs and the time a read takes. */
const SLACK_MS = 1_500;

interface Streak {
  /** monotonic ms and TTL at the start of a run of reads with no renewal in between */
  startAt: number;
  startTtl: number;
  lastAt: number;
  lastTtl: number;
  flagged: boolean;
}

/**
 * Remembers each lease's TTL across reads. A lease is "not renewed" when, for longer than a
 * keep-alive interval (clients renew every TTL/3: Go clientv3, etcdctl, npm etcd3) plus slack,
 * every read fits "no renewal happened": the TTL went down as fast as time passed, never up.
 * Elapsed time comes from this process's monotonic clock between two store reads; the TTL
 * itself is always the store's.
 */
export class LeaseTracker {
  private streaks = new Map<string, Streak>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records one read; returns whether the lease now counts as not renewed. */
  observe(id: string, ttlSec: number, grantedSec: number, at = this.now()): boolean {
    const ttl = ttlSec * 1000;
    const s = this.streaks.get(id);
    if (ttlSec < 0) {
      this.streaks.delete(id);
      return false;
    }
    const expected = s ? s.startTtl - (at - s.startAt) : 0;
    if (!s || ttl > s.lastTtl || ttl > expected + SLACK_MS) {
      this.streaks.set(id, { startAt: at, startTtl: ttl, lastAt: at, lastTtl: ttl, flagged: false });
      return false;
    }
    s.lastAt = at;
    s.lastTtl = ttl;
    s.flagged = at - s.startAt >= (grantedSec * 1000) / 3 + SLACK_MS;
    return s.flagged;
  }

  flagged(id: string): boolean {
    return this.streaks.get(id)?.flagged ?? false;
  }

  /** Applies the tracker to freshly read leases (sets notRenewed). */
  apply(leases: Map<string, LeaseInfo>, at = this.now()): void {
    for (const info of leases.values()) info.notRenewed = this.observe(info.id, info.ttlSec, info.grantedSec, at);
  }

  /** Drops leases no lock uses any more. */
  retain(ids: Set<string>): void {
    for (const id of this.streaks.keys()) if (!ids.has(id)) this.streaks.delete(id);
  }
}
