// The etcd store adapter: paged discovery under the configured prefixes at one revision, lease
// TTLs from LeaseTimeToLive (through the lease monitor, lease-monitor.ts), a watch from the
// snapshot's revision, cluster status, the leases page, and the two force-release modes (guarded
// txn delete, lease revoke: force-release.ts). Owns what links locks to leases (lock key →
// holder lease) and the snapshot's revision. Only lib/stores/etcd imports etcd3.

import type { IMember } from "etcd3";
import type {
  Health,
  LockRecord,
  LockView,
  LockSnapshot,
  Problem,
  ReleaseMode,
  ReleaseOutcome,
  ReleasePlan,
  RereadResult,
  StoreAdapter,
  StoreChange,
} from "../../model";
import type { EtcdConnectionConfig } from "./config";
import { createClient, errorText, type EtcdClient } from "./client";
import { coveringPrefixes, readKey, readPrefixes, type ReadResult } from "./read";
import { LeaseBatch, readLeases } from "./leases";
import { LEASES_PROBLEM_KEY, LeaseMonitor } from "./lease-monitor";
import { releaseHolding } from "./force-release";
import { watchPrefixes } from "./watch";
import { describe as describePlan, type PlanContext } from "./release";
import { clusterStatus, statusLine, type ClusterStatus } from "./status";
import {
  applyLeases,
  applyLeasesInPlace,
  ChunkedDecoder,
  classify,
  decodeStructure,
  ETCD_FORMATS,
  holderLeaseMap,
  leaseHex,
  parentOf,
  type EtcdDecodeResult,
  type EtcdEntry,
  type LeaseInfo,
} from "../../formats/etcd";
import { decodeFence } from "../../fence";
import { EtcdScope } from "./scope";
import { keyToBytes } from "../../keys";
import { LATE_MS, probe } from "../probe";

const HEALTH_TIMEOUT_MS = 3_000;
const FRESH_TTL_TIMEOUT_MS = 1_000;
const MEMBERS_TTL_MS = 30_000;
/** Rereads of at most this many locks also list each holder lease's keys (the blast radius). */
const KEYS_FOR_AT_MOST = 20;
/** A snapshot reads the TTL of every holder lease it decodes while paging, up to this many. */
const LEASES_WHILE_PAGING = 10_000;
/**
 * A lease check that names more locks than this (a lease outage passed, a paused host's holders)
 * asks for one re-list instead: a re-read reads each lone lock with a call of its own.
 */
export const RELIST_OVER_LOCKS = 1_000;
/** The last segment of a Go (hex) or etcd3 (decimal) lock layout's key: a lease id. */
const LEASE_SHAPED = /^-?[0-9a-f]+$/;
/** A re-read ranges this many groups at once (a batch of up to RELIST_OVER_LOCKS groups: ~60 rounds, not 1 000). */
const REREAD_CONCURRENCY = 16;

interface Pass {
  read: ReadResult;
  batch: LeaseBatch;
  chunks: ChunkedDecoder | null;
}

export interface EtcdStats {
  snapshots: number;
  rereads: number;
  ranges: number;
  leaseCalls: number;
}

/** The key's proper prefixes that end in "/" (the groups it could sit under), shortest first. */
function prefixesOf(key: string): string[] {
  const out: string[] = [];
  for (let i = key.indexOf("/"); i >= 0 && i < key.length - 1; i = key.indexOf("/", i + 1)) out.push(key.slice(0, i + 1));
  return out;
}

export class EtcdAdapter implements StoreAdapter {
  readonly kind = "etcd" as const;
  readonly formats = ETCD_FORMATS;
  readonly client: EtcdClient;
  readonly stats: EtcdStats = { snapshots: 0, rereads: 0, ranges: 0, leaseCalls: 0 };
  private live = false;
  /** Revision of the last snapshot: the watch starts right after it. */
  private revision = "0";
  /** lock key -> holder lease (decimal): for fresh TTLs, the lease checks, and (keys ending
   *  in "/") the group locks a changed key may belong to. After a snapshot it is made at its
   *  first use from the snapshot's keys and leases (`fromSnapshot`): a 90k-entry Map is ~30 ms
   *  a snapshot's answer need not wait for. */
  private get holderLease(): Map<string, string> {
    if (this.fromSnapshot) {
      this.leaseByLock = holderLeaseMap(this.fromSnapshot.keys, this.fromSnapshot.leaseOf);
      this.fromSnapshot = null;
    }
    return this.leaseByLock;
  }
  private leaseByLock = new Map<string, string>();
  private fromSnapshot: { keys: string[]; leaseOf: string[] } | null = null;
  /** The lock keys that are single keys (etcd3 Lock, unknown), usually few. */
  private loneLocks = new Set<string>();
  /** Lease TTLs, the not-renewed flags and the live lease check. */
  private readonly leaseMonitor: LeaseMonitor;
  private members: { list: IMember[]; at: number } | null = null;
  private lastStatus: ClusterStatus | null = null;
  private noLeader = false;
  /** Set while a watch runs: makes it yield a resync (the hub re-lists). */
  private pokeWatch: (() => void) | null = null;
  private readonly prefixes: string[];
  private readonly scope: EtcdScope;

  constructor(
    private readonly id: string,
    private readonly cfg: EtcdConnectionConfig,
  ) {
    this.client = createClient(cfg);
    this.prefixes = coveringPrefixes(cfg.prefixes);
    this.scope = new EtcdScope(cfg.prefixes);
    this.leaseMonitor = new LeaseMonitor(this.client, cfg.requestTimeoutMs, this.stats);
  }

  keyProblem(key: string) {
    return this.scope.keyProblem(key);
  }

  updateMode() {
    return this.live ? { mode: "live" as const } : { mode: "polling" as const, intervalMs: this.cfg.pollIntervalMs };
  }

  private get serializable(): boolean {
    return this.cfg.consistency === "serializable";
  }

  /** How a read was made, in words shown on every view. */
  private consistencyOf(memberHex: string): string {
    const name = this.memberName(memberHex);
    if (!this.serializable) return `linearizable (via ${name})`;
    const noLeader = this.lastStatus?.leader === "0" && this.lastStatus.answeredBy === memberHex;
    return noLeader ? `serializable: ${name}'s local copy, and it has NO LEADER — may be stale` : `serializable: ${name}'s local copy, may be stale`;
  }

  private memberName(memberHex: string): string {
    const m = this.members?.list.find((x) => BigInt(x.ID).toString(16) === memberHex);
    return m?.name || `member ${memberHex}`;
  }

  private async refreshMembers(): Promise<void> {
    if (this.members && Date.now() - this.members.at < MEMBERS_TTL_MS) return;
    const res = await this.client.cluster.memberList({}, { deadline: Date.now() + HEALTH_TIMEOUT_MS });
    this.members = { list: res.members, at: Date.now() };
  }

  // ---- health and cluster status ----------------------------------------------------------

  /**
   * Cluster status as Health. A member that knows no leader cannot serve a linearizable read:
   * for a linearizable connection that is "unreachable" (the hub keeps the last snapshot,
   * marked stale, and the release API refuses: "cannot confirm"); for a serializable one it is
   * "degraded", and the feed re-lists so every record's consistency label says so.
   */
  async health(signal: AbortSignal): Promise<Health> {
    // The check waits HEALTH_TIMEOUT_MS; the request itself may take LATE_MS (Health.late).
    const probed = await probe(this.cluster(LATE_MS), HEALTH_TIMEOUT_MS, signal, errorText);
    if (!probed.ok) return { status: "unreachable", message: probed.message, ...(probed.late ? { late: probed.late } : {}) };
    const status = probed.value;
    const noLeader = status.leader === "0";
    if (noLeader !== this.noLeader) {
      this.noLeader = noLeader;
      if (this.serializable) this.pokeWatch?.();
    }
    const server = statusLine(status);
    if (!noLeader) return { status: "ok", message: "", server };
    if (!this.serializable) {
      return {
        status: "unreachable",
        message: `cannot confirm: ${status.answeredByName} knows no leader, so no linearizable read (or release) is possible through it`,
        server,
      };
    }
    return { status: "degraded", message: `${status.answeredByName} knows no leader: serializable reads may be stale`, server };
  }

  /** Members, leader, raft term and index, and which member answered (the status request's deadline: `deadlineMs`). */
  async cluster(deadlineMs = HEALTH_TIMEOUT_MS): Promise<ClusterStatus> {
    await this.refreshMembers().catch(() => {});
    this.lastStatus = await clusterStatus(this.client, this.members?.list ?? null, deadlineMs);
    return this.lastStatus;
  }

  // ---- reading ------------------------------------------------------------------------------

  private readOptions() {
    return {
      serializable: this.serializable,
      pageSize: this.cfg.pageSize,
      maxReplyBytes: this.cfg.maxReplyBytes,
      maxKeysPerPrefix: this.cfg.maxKeysPerPrefix,
      timeoutMs: this.cfg.requestTimeoutMs,
    };
  }

  /**
   * Every lock under the prefixes at one revision. While the pages arrive, the completed part
   * of the keyspace is decoded and the lease TTLs of its records' holders are read (up to
   * LEASES_WHILE_PAGING), both overlapping the range calls; holders' leases not read by then
   * (past the cap, the last segment, or a prefix that is itself a lock group) are read after.
   * Waiters' leases are not read: no record shows them.
   */
  async snapshot(signal: AbortSignal): Promise<LockSnapshot> {
    this.stats.snapshots++;
    const started = Date.now();
    await this.refreshMembers().catch(() => {});
    let pass: Pass;
    try {
      pass = await this.readAll(signal, started);
    } catch (err) {
      // The pinned revision was compacted while paging: one fresh start at the new head.
      if (!/compacted/i.test(errorText(err))) throw err;
      pass = await this.readAll(signal, started);
    }
    const { read, batch, chunks } = pass;
    const decoded: EtcdDecodeResult = chunks ? chunks.finish() : { locks: [], problems: [], leaseOf: [] };
    const leases = await batch.done();
    this.stats.leaseCalls += leases.calls;
    const missing = new Set<string>();
    for (const l of decoded.leaseOf) if (l !== "0" && !batch.has(l)) missing.add(l);
    if (missing.size && !leases.error) {
      const more = await readLeases(this.client, missing, { keys: false, timeoutMs: this.cfg.requestTimeoutMs }, signal);
      this.stats.leaseCalls += more.calls;
      for (const [id, info] of more.leases) leases.leases.set(id, info);
      leases.error ??= more.error;
    }
    // The keys, taken now: the records go to the hub and are not kept here.
    const keys = decoded.locks.map((l) => l.key);
    // Before the leases go on the records: the tracker sets their notRenewed.
    this.leaseMonitor.recordSnapshot(leases.leases, keys, decoded.leaseOf, leases.error);
    applyLeasesInPlace(decoded.locks, decoded.leaseOf, leases.leases);
    this.revision = read.revision;
    this.fromSnapshot = { keys, leaseOf: decoded.leaseOf };
    this.leaseMonitor.leasesChanged();
    this.loneLocks = new Set();
    for (const key of keys) if (!key.endsWith("/")) this.loneLocks.add(key);
    return {
      locks: decoded.locks,
      problems: [...read.problems, ...decoded.problems, ...this.leaseMonitor.ttlProblems()],
      observedAt: new Date(started).toISOString(),
      consistency: this.consistencyOf(read.memberId),
    };
  }

  private async readAll(signal: AbortSignal, started: number): Promise<Pass> {
    const batch = new LeaseBatch(this.client, { keys: false, concurrency: 16, timeoutMs: this.cfg.requestTimeoutMs, cap: LEASES_WHILE_PAGING }, signal);
    let chunks: ChunkedDecoder | null = null;
    let asked = 0;
    const read = await readPrefixes(this.client, this.prefixes, this.readOptions(), signal, (page, prefix, memberId) => {
      chunks ??= new ChunkedDecoder({ connection: this.id, consistency: this.consistencyOf(memberId), now: started, previews: false });
      chunks.page(prefix, page);
      // Only the leases records show (their holders'): a waiter's lease shows nowhere.
      const leases = chunks.leases;
      for (; asked < leases.length; asked++) batch.add(leases[asked]);
    });
    this.stats.ranges += read.ranges;
    return { read, batch, chunks };
  }

  /**
   * Re-reads the locks behind these keys: a group lock ("<prefix>/") by ranging its prefix, an
   * etcd3 Lock or unknown key by itself, and any known group a key sits under.
   */
  async reread(keys: string[], signal: AbortSignal): Promise<RereadResult> {
    this.stats.rereads++;
    const started = Date.now();
    // Only keys under the prefixes are ever read (scope.ts), whatever asked.
    const wanted = new Set(keys.filter((k) => this.scope.covers(k)));
    const groupKeys = new Set<string>();
    const lone: string[] = [];
    for (const k of wanted) {
      if (k.endsWith("/")) groupKeys.add(k);
      else lone.push(k);
      for (const g of this.ancestorGroups(k)) groupKeys.add(g);
    }
    // Whether a key sits under one of the groups read: its own prefixes looked up, not every
    // group compared with every key (a burst's re-read has thousands of each).
    const underGroup = (k: string) => prefixesOf(k).some((p) => groupKeys.has(p));
    const entries = new Map<string, EtcdEntry>();
    const problems: Problem[] = [];
    let memberId = "";
    if (groupKeys.size) {
      const read = await readPrefixes(this.client, [...groupKeys], { ...this.readOptions(), concurrency: REREAD_CONCURRENCY }, signal);
      this.stats.ranges += read.ranges;
      memberId = read.memberId;
      problems.push(...read.problems);
      for (const e of read.entries) entries.set(e.key, e);
    }
    const singles = lone.filter((k) => !entries.has(k) && !underGroup(k));
    await Promise.all(
      singles.map(async (k) => {
        const r = await readKey(this.client, k, keyToBytes(k), this.serializable, this.cfg.requestTimeoutMs);
        this.stats.ranges++;
        memberId ||= r.memberId;
        if (r.entry) entries.set(r.entry.key, r.entry);
      }),
    );
    signal.throwIfAborted();
    const ctx = { connection: this.id, consistency: this.consistencyOf(memberId), now: started };
    const structure = decodeStructure([...entries.values()], ctx);
    const found = structure.locks.filter((l) => wanted.has(l.key) || groupKeys.has(l.key));
    const leaseByKey = holderLeaseMap(
      structure.locks.map((l) => l.key),
      structure.leaseOf,
    );
    const holderIds = new Set(found.map((l) => leaseByKey.get(l.key) ?? "0"));
    const leases = await this.leaseMonitor.facts(holderIds, found.length <= KEYS_FOR_AT_MOST, signal);
    const scoped = this.scopedLeaseKeys(leases.leases);
    const locks = found.map((r) => applyLeases(r, leaseByKey.get(r.key) ?? "0", scoped));

    // Bookkeeping: which locks exist now under what was read.
    const foundKeys = new Set(locks.map((l) => l.key));
    const gone = [...wanted].filter((k) => !foundKeys.has(k));
    for (const g of groupKeys) if (!foundKeys.has(g)) gone.push(g);
    // A lone lock that now sits in a group's queue is no lock of its own any more.
    if (groupKeys.size) for (const k of this.loneLocks) if (!foundKeys.has(k) && underGroup(k)) gone.push(k);
    for (const k of gone) {
      this.holderLease.delete(k);
      this.loneLocks.delete(k);
    }
    for (const l of locks) {
      this.holderLease.set(l.key, leaseByKey.get(l.key) ?? "0");
      if (!l.key.endsWith("/")) this.loneLocks.add(l.key);
    }
    this.leaseMonitor.leasesChanged();
    const goneKeys = [...new Set(gone)];
    this.leaseMonitor.rereadTtls(
      locks.map((l) => l.key),
      leaseByKey,
      goneKeys,
      leases.leases,
      leases.error,
    );
    // "(leases)" is covered by every re-read: the problem stays while any record's TTL is unknown.
    return { locks, gone: goneKeys, problems: [...problems, ...structure.problems, ...this.leaseMonitor.ttlProblems()], covers: [LEASES_PROBLEM_KEY] };
  }

  /** A group lock ("<prefix>/") LockDeck knows: a changed key under it may change its queue. */
  private isGroup(p: string): boolean {
    return p.endsWith("/") && this.holderLease.has(p);
  }

  private ancestorGroups(key: string): string[] {
    return prefixesOf(key).filter((p) => this.isGroup(p));
  }

  /** The lock keys a changed store key can affect (a deleted one: deletedLockKeys). */
  private lockKeysOf = (e: EtcdEntry, deleted: boolean): string[] => {
    if (deleted) return this.deletedLockKeys(e.key);
    const l = classify(e);
    const own = l.kind === "lone" ? e.key : l.group;
    const out = new Set([own, ...this.ancestorGroups(e.key)]);
    // A key that is not a lock layout may still sit in a known group's queue (or leave it).
    if (l.kind === "lone" && this.isGroup(parentOf(e.key))) out.add(parentOf(e.key));
    return [...out];
  };

  /**
   * The lock keys a deleted store key can affect, from its name and what is known (the watch
   * asks for no previous values: watch.ts): the known groups above it; its parent, when its
   * name has a lease id's shape (a Go / etcd3 holder or waiter key, whose group may not be
   * re-read yet) and the parent is not a whole configured prefix; itself, when it is a lone
   * lock or sits in no group (one the view may have just read).
   */
  private deletedLockKeys(key: string): string[] {
    const out = new Set(this.ancestorGroups(key));
    const parent = parentOf(key);
    if (LEASE_SHAPED.test(key.slice(parent.length)) && parent !== "" && !this.prefixes.some((p) => p.startsWith(parent))) out.add(parent);
    if (this.loneLocks.has(key) || out.size === 0) out.add(key);
    return [...out];
  }

  async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    try {
      yield* watchPrefixes(
        this.client,
        this.prefixes,
        {
          snapshotRevision: () => this.revision,
          lockKeysOf: this.lockKeysOf,
          relistOver: RELIST_OVER_LOCKS,
          tick: async (s) => {
            const keys = await this.leaseMonitor.check(this.holderLease, s);
            if (keys.length <= RELIST_OVER_LOCKS) return keys;
            this.pokeWatch?.();
            return [];
          },
          tickMs: this.cfg.leaseCheckMs,
          onLive: (live) => (this.live = live),
          onResyncHandle: (poke) => (this.pokeWatch = poke),
        },
        signal,
      );
    } finally {
      this.live = false;
      this.pokeWatch = null;
    }
  }

  /** Remaining TTLs of some locks' holder leases, straight from LeaseTimeToLive. */
  async ttls(keys: string[], signal: AbortSignal): Promise<Map<string, number | null>> {
    const leaseOf = new Map(keys.map((k) => [k, this.holderLease.get(k) ?? "0"]));
    // A page of the table waits for this: a short deadline, and stale beats late.
    const res = await this.leaseMonitor.facts(new Set(leaseOf.values()), false, signal, FRESH_TTL_TIMEOUT_MS);
    const out = new Map<string, number | null>();
    for (const [k, lease] of leaseOf) {
      const info = res.leases.get(lease);
      if (info) out.set(k, Math.max(0, info.ttlSec) * 1000);
    }
    return out;
  }

  // ---- the leases page ----------------------------------------------------------------------

  /** Every lease in the cluster with its TTLs and keys, and which of those keys are locks. */
  async leases(
    signal: AbortSignal,
    limit = 1_000,
  ): Promise<{ total: number; leases: Array<LeaseInfo & { hex: string; lockKeys: string[]; keysElsewhere: number }>; error?: string }> {
    const all = await this.client.leaseClient.leaseLeases({ deadline: Date.now() + this.cfg.requestTimeoutMs });
    const ids = all.leases.map((l) => String(l.ID));
    const res = await this.leaseMonitor.facts(new Set(ids.slice(0, limit)), true, signal);
    const lockOf = new Map<string, string[]>();
    for (const [key, lease] of this.holderLease) lockOf.set(lease, [...(lockOf.get(lease) ?? []), key]);
    const leases = [...res.leases.values()]
      .map((l) => {
        // Keys outside the prefixes are counted, never named (scope.ts).
        const keys = l.keys?.filter((k) => this.scope.covers(k));
        const keysElsewhere = (l.keys?.length ?? 0) - (keys?.length ?? 0);
        return { ...l, keys, keysElsewhere, hex: leaseHex(l.id), notRenewed: this.leaseMonitor.notRenewed(l.id), lockKeys: lockOf.get(l.id) ?? [] };
      })
      .sort((a, b) => a.ttlSec - b.ttlSec || a.hex.localeCompare(b.hex));
    return { total: ids.length, leases, error: res.error };
  }

  // ---- force-release --------------------------------------------------------------------------

  /** Force-release (force-release.ts): confirms the fence's holding first, then deletes or revokes. */
  forceRelease(lock: LockView, mode: ReleaseMode, signal: AbortSignal): Promise<ReleaseOutcome> {
    const { client, scope } = this;
    const { readOnly, requestTimeoutMs } = this.cfg;
    return releaseHolding({ client, scope, readOnly, requestTimeoutMs, current: (key, s) => this.current(key, s) }, lock, mode, signal);
  }

  /** The lock as it is now, re-read; null when there is none or it cannot be read. */
  private async current(lockKey: string, signal: AbortSignal): Promise<LockRecord | null> {
    try {
      return (await this.reread([lockKey], signal)).locks.find((l) => l.key === lockKey) ?? null;
    } catch {
      return null;
    }
  }

  /**
   * The leases with their key lists cut to the keys under the prefixes, and a count of the rest:
   * a lock's answer names nothing outside the connection's scope (as the leases page does), and
   * the revoke plan knows the lease carries more.
   */
  private scopedLeaseKeys(leases: Map<string, LeaseInfo>): Map<string, LeaseInfo> {
    const out = new Map<string, LeaseInfo>();
    for (const [id, info] of leases) {
      if (!info.keys) {
        out.set(id, info);
        continue;
      }
      const keys = info.keys.filter((k) => this.scope.covers(k));
      out.set(id, keys.length === info.keys.length ? info : { ...info, keys, keysElsewhere: info.keys.length - keys.length });
    }
    return out;
  }

  describeRelease(lock: LockView, mode: ReleaseMode): ReleasePlan {
    const fence = decodeFence(lock.fence);
    return describePlan(lock, mode, fence, this.planContext());
  }

  private planContext(): PlanContext {
    return {
      endpoints: this.cfg.endpoints,
      username: this.cfg.username,
      caFile: this.cfg.tls?.ca,
      readOnly: this.cfg.readOnly,
    };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
