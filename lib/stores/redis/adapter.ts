// The Redis store adapter: discovery (SCAN every node), reads, keyspace-notification watch,
// fresh TTLs and conditional force-release. Only this folder imports ioredis.

import "server-only";
import type Redis from "ioredis";
import { Cluster } from "ioredis";
import calculateSlot from "cluster-key-slot";
import type { Health, LockRecord, LockView, Problem, ReleaseMode, ReleaseOutcome, ReleasePlan, StoreAdapter, StoreChange } from "../../model";
import type { RedisConnectionConfig } from "./config";
import { createPrimary, createReplica, neverSent, scanNodes, type RedisClient } from "./client";
import { LargeValues, readEntries, type ReadResult } from "./read";
import { scanAndRead } from "./scan";
import { RawConnection, endpointOf } from "./raw";
import { RELEASE_HASH, RELEASE_STRING, cliCommand, scriptFor } from "./release";
import { LiveFeed } from "./live";
import { keyToBytes } from "../../keys";
import { decodeFence } from "../../fence";
import { releaseTarget } from "../release-target";
import { RedisDecoder, decodeRedis, REDIS_FORMATS } from "../../formats/redis";
import { lockKeysFor, readSetFor } from "./related";
import { RedisScope } from "./scope";
import { FailoverWatch, masterIdentity } from "./sentinel";
import { redissonWaiters } from "./waiters";
import { probe, withTimeout } from "../probe";

const HEALTH_TIMEOUT_MS = 3_000;
const CONNECT_TIMEOUT_MS = 10_000;

type ReleaseClient = RedisClient & {
  lockdeckReleaseString(key: Buffer, ...args: Array<string | Buffer>): Promise<number>;
  lockdeckReleaseHash(key: Buffer, ...args: Array<string | Buffer>): Promise<number>;
};

export class RedisAdapter implements StoreAdapter {
  readonly kind = "redis" as const;
  readonly formats = REDIS_FORMATS;
  private readonly primary: ReleaseClient;
  private readonly replica: Redis | null;
  private readonly scope: RedisScope;
  /** Read scope: lock keys and their helper keys (scope.ts). */
  private readonly wanted: (key: string) => boolean;
  private readonly db: number;
  private live = false;
  /** The first snapshot is read once the feed is subscribed (LiveFeed yields {resync} first). */
  readonly watchBeforeSnapshot = true;
  private readonly feed: LiveFeed;
  /** Keys whose value was over valueCapBytes: full reads fetch them with GETRANGE, not MGET. */
  private readonly large = new LargeValues();
  private closed = false;
  /** Sentinel topology: which locks a failover lost or changed (lib/stores/redis/sentinel.ts). */
  private readonly failover: FailoverWatch | null;
  /** The last reason a snapshot could not open its own connection (said once, not per snapshot). */
  private ownFailure = "";

  constructor(
    private readonly id: string,
    private readonly cfg: RedisConnectionConfig,
  ) {
    this.primary = createPrimary(cfg) as ReleaseClient;
    this.primary.defineCommand("lockdeckReleaseString", { numberOfKeys: 1, lua: RELEASE_STRING });
    this.primary.defineCommand("lockdeckReleaseHash", { numberOfKeys: 1, lua: RELEASE_HASH });
    this.replica = cfg.consistency === "replica" ? createReplica(cfg) : null;
    this.scope = new RedisScope(cfg.patterns);
    this.wanted = this.scope.wanted;
    this.db = Number(new URL(cfg.url).pathname.slice(1) || 0);
    this.feed = new LiveFeed(cfg, this.db, this.wanted);
    // Errors surface through command rejections; without a listener ioredis logs every retry.
    for (const c of [this.primary, this.replica]) c?.on("error", () => {});
    this.failover = cfg.topology === "sentinel" ? new FailoverWatch() : null;
    this.primary.on("ready", () => this.failover?.reconnected());
    // ioredis gives up for good ("end") when a reconnect is cut short, e.g. by Sentinel's
    // +switch-master arriving mid-reconnect. A console must not: start again, unless closed.
    for (const c of [this.primary, this.replica]) {
      c?.on("end", () => {
        if (!this.closed) setTimeout(() => !this.closed && c.status === "end" && c.connect().catch(() => {}), 500).unref();
      });
    }
  }

  updateMode() {
    return this.live && this.feed.name ? { mode: "live" as const, feed: this.feed.name } : { mode: "polling" as const, intervalMs: this.cfg.pollIntervalMs };
  }

  get consistency(): string {
    return this.replica ? "replica (asynchronous, may lag the primary)" : "primary";
  }

  keyProblem(key: string) {
    return this.scope.keyProblem(key);
  }

  private reader(): RedisClient {
    return this.replica ?? this.primary;
  }

  /** Redisson clients blocked on a lock, counted as its channel's subscribers (waiters.ts). */
  async anonymousWaiters(locks: LockRecord[], signal: AbortSignal): Promise<Map<string, { count: number; source: string }>> {
    return withTimeout(redissonWaiters(this.primary, this.replica, locks), this.cfg.commandTimeoutMs, signal);
  }

  async health(signal: AbortSignal): Promise<Health> {
    const probed = await probe(this.reader().info("server"), HEALTH_TIMEOUT_MS, signal);
    if (!probed.ok) return { status: "unreachable", message: probed.message, ...(probed.late ? { late: probed.late } : {}) };
    const info = probed.value;
    try {
      const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
      const mode = /redis_mode:(\S+)/.exec(info)?.[1] ?? this.cfg.topology;
      if (this.failover) return { status: "ok", message: "", server: `Redis ${version} sentinel master "${this.cfg.masterName}"${this.failover.describe()}` };
      if (this.primary instanceof Cluster) {
        // A cluster that lost a master (or quorum) answers, but refuses keys in the slots it lost.
        const state = /cluster_state:(\S+)/.exec(String(await withTimeout(this.primary.cluster("INFO"), HEALTH_TIMEOUT_MS, signal)))?.[1];
        if (state !== "ok") return { status: "degraded", message: `cluster_state:${state ?? "?"}`, server: `Redis ${version} cluster` };
      }
      return { status: "ok", message: "", server: `Redis ${version} ${mode}` };
    } catch (err) {
      return { status: "unreachable", message: (err as Error).message };
    }
  }

  async snapshot(signal: AbortSignal) {
    const client = this.reader();
    await ready(client, signal);
    const master = this.failover ? await masterIdentity(client) : null;
    const started = Date.now();
    const decoder = new RedisDecoder(this.ctx(started, false));
    const readProblems: Problem[] = [];
    // Cluster nodes refuse a multi-key command whose keys are in different slots.
    const opts = { cap: this.cfg.valueCapBytes, multiGet: client instanceof Cluster ? undefined : this.large };
    const onPage = (page: ReadResult) => {
      decoder.push(page.entries);
      readProblems.push(...problemsOf(page));
    };
    const nodes = scanNodes(client);
    // Settled, not all: when one open is aborted, the others that opened are still closed below.
    const opened = await Promise.allSettled(nodes.map((node) => this.ownConnection(node, signal)));
    const own = opened.map((o) => (o.status === "fulfilled" ? o.value : null));
    try {
      for (const o of opened) if (o.status === "rejected") throw o.reason;
      await Promise.all(nodes.map((node, i) => scanAndRead(own[i] ?? node, this.wanted, opts, onPage, signal)));
    } finally {
      for (const c of own) c?.close();
    }
    // The read went to the master as it was at the start: a failover meanwhile means part of
    // it may come from a demoted node. Read again rather than show a mix.
    if (master && (await masterIdentity(client)).runId !== master.runId) throw new Error("the Sentinel master changed during the read");
    const { locks, problems } = decoder.finish();
    this.feed.noteTtls(locks, started);
    if (master) this.failover!.afterSnapshot(master, locks);
    return {
      locks,
      problems: [...readProblems, ...problems, ...(this.failover?.problems() ?? [])],
      observedAt: new Date(started).toISOString(),
      consistency: this.consistency,
    };
  }

  /**
   * The snapshot's own connection to this node (raw.ts): the same read at a tenth of ioredis'
   * client CPU. When it cannot be opened the snapshot reads through the shared client instead.
   */
  private async ownConnection(node: Redis, signal: AbortSignal): Promise<RawConnection | null> {
    const at = endpointOf(node);
    if (!at) return null;
    try {
      return await RawConnection.open(at, this.cfg.commandTimeoutMs, signal);
    } catch (err) {
      signal.throwIfAborted();
      const why = (err as Error).message;
      if (why !== this.ownFailure)
        console.warn(`lockdeck: ${this.id}: the snapshot's own connection to ${at.host}:${at.port} failed (${why}); reading through the shared client`);
      this.ownFailure = why;
      return null;
    }
  }

  /** Re-reads the locks owning these keys (helpers map to their lock), with all their helper keys. */
  async reread(keys: string[], signal: AbortSignal) {
    const client = this.reader();
    // Only lock keys this connection covers are read (scope.ts), whatever asked.
    const lockKeys = lockKeysFor(keys).filter((k) => !this.scope.keyProblem(k));
    const toRead = readSetFor(lockKeys);
    const started = Date.now();
    const merged = mergeReads(await Promise.all(bySlot(client, toRead).map((group) => readEntries(group.client, group.keys, { cap: this.cfg.valueCapBytes }))));
    signal.throwIfAborted();
    const { locks, problems } = decodeRedis(merged.entries, this.ctx(started, true));
    const wantedLocks = new Set(lockKeys);
    const found = locks.filter((l) => wantedLocks.has(l.key) && this.wanted(l.key));
    this.feed.noteTtls(found, started);
    const foundKeys = new Set(found.map((l) => l.key));
    // A key the server refused to read (a reply error on it) is not gone: it keeps its last
    // record, and its problem says why. (Timeouts and closed connections fail the read: read.ts.)
    const unread = new Set(merged.problems.filter((p) => p.code === "read-error").map((p) => p.key));
    const gone = lockKeys.filter((k) => !foundKeys.has(k) && !unread.has(k));
    this.failover?.afterReread(found, gone);
    return { locks: found, gone, problems: [...merged.problems, ...problems] };
  }

  async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    await ready(this.primary, signal);
    try {
      // Live once the feed is subscribed AND the hub has read its snapshot after that.
      yield* this.feed.open(this.primary, signal, () => (this.live = true));
    } finally {
      this.live = false;
    }
  }

  async ttls(keys: string[]): Promise<Map<string, number | null>> {
    const client = this.reader();
    const replies = await Promise.all(keys.map((k) => client.pttl(keyToBytes(k)).catch(() => -3)));
    const out = new Map<string, number | null>();
    keys.forEach((k, i) => {
      const t = replies[i];
      if (t === -1) out.set(k, null);
      else if (t >= 0) out.set(k, t);
    });
    return out;
  }

  async forceRelease(lock: LockView, mode: ReleaseMode, signal: AbortSignal): Promise<ReleaseOutcome> {
    if (this.cfg.readOnly) return { status: "refused", reason: "this connection is read-only" };
    if (mode !== "delete") return { status: "refused", reason: `Redis locks are released by delete, not ${mode}: nothing was sent` };
    const target = releaseTarget(lock, (f) => this.scope.releaseProblem(f));
    if ("refused" in target) return target.refused;
    const fence = target.fence;
    const call = scriptFor(fence.h, this.primary instanceof Cluster);
    if (!call) return { status: "refused", reason: noReleaseReason(fence.f) };
    const key = keyToBytes(fence.k);
    // Reads may come from a replica that connected first: wait (bounded) for the primary too.
    try {
      await ready(this.primary, signal);
    } catch (err) {
      return { status: "refused", reason: `store unreachable, nothing was sent: ${(err as Error).message}` };
    }
    let answer: number;
    try {
      answer =
        call.script === "string" ? await this.primary.lockdeckReleaseString(key, ...call.args) : await this.primary.lockdeckReleaseHash(key, ...call.args);
    } catch (err) {
      if (neverSent(err)) return { status: "refused", reason: `store unreachable, nothing was sent: ${(err as Error).message}` };
      // The ACL said no before the script ran: nothing happened.
      if (/^NOPERM/.test((err as Error).message)) return { status: "denied", reason: `Redis: ${(err as Error).message}` };
      // A reply that never came would be taken for the next command's: start a new connection.
      this.primary.disconnect(true);
      return { status: "unknown", reason: `no answer after sending: ${(err as Error).message}` };
    }
    if (answer === -2) return { status: "gone" };
    if (answer !== 1) {
      const { locks } = await this.reread([fence.k], signal);
      return { status: "changed", current: locks[0] ?? null };
    }
    const details: string[] = [];
    if (fence.f === "redis.python-redis-lock") details.push(await this.wakePythonWaiters(fence.k));
    if (this.cfg.waitReplicas > 0) details.push(await this.waitReplicas());
    return { status: "released", detail: details.filter(Boolean).join("; ") || undefined };
  }

  /** python-redis-lock waiters BLPOP the signal list; its own reset pushes one item there. */
  private async wakePythonWaiters(lockKey: string): Promise<string> {
    const signalKey = "lock-signal:" + lockKey.slice("lock:".length);
    try {
      const b = keyToBytes(signalKey);
      await Promise.all([this.primary.del(b), this.primary.lpush(b, "1"), this.primary.pexpire(b, 1000)]);
      return `pushed a wake-up to ${signalKey}`;
    } catch (err) {
      return `released, but the wake-up push to ${signalKey} failed: ${(err as Error).message}`;
    }
  }

  private async waitReplicas(): Promise<string> {
    if (this.primary instanceof Cluster) return "WAIT is not sent on a cluster connection";
    try {
      const acked = await this.primary.wait(this.cfg.waitReplicas, 1000);
      return `acknowledged by ${acked} of ${this.cfg.waitReplicas} replicas within 1 s`;
    } catch (err) {
      return `WAIT failed: ${(err as Error).message}`;
    }
  }

  describeRelease(lock: LockView): ReleasePlan {
    const fence = decodeFence(lock.fence);
    const call = scriptFor(fence.h, this.primary instanceof Cluster);
    const notes: string[] = [];
    if (!call) notes.push(noReleaseReason(fence.f));
    if (lock.warnings.includes("non-unique-token")) {
      notes.push("The token is not unique: if the same value is written again by a new holder, this release cannot tell them apart.");
    }
    if (lock.warnings.includes("integer-value")) {
      notes.push("The value is a plain integer. If this key is a Redisson semaphore's permit counter rather than a lock, deleting it loses the permits.");
    }
    notes.push(
      lock.fencingToken
        ? `Fencing token ${lock.fencingToken}: resources that check it will refuse the old holder.`
        : "This lock family has no fencing token: a holder that is still alive may keep working after the release.",
    );
    if (this.replica) notes.push("The view was read from a replica; the release goes to the primary.");
    return {
      modes: call && !this.cfg.readOnly ? ["delete"] : [],
      deletes: deletesText(lock, fence.h),
      wakes: wakesText(lock, fence.h, this.primary instanceof Cluster),
      command: cliCommand(lock.key, call),
      holderNotified: false,
      notes,
    };
  }

  private ctx(now: number, previews: boolean) {
    return { connection: this.id, consistency: this.consistency, now, previews };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of [this.primary, this.replica]) c?.disconnect();
  }
}

function noReleaseReason(format: string): string {
  if (format.includes("semaphore")) return "Semaphore permits are not released from LockDeck: Redis records no exact holder to compare.";
  if (format === "redis.unknown") return "This key does not have a known lock layout, so there is nothing exact to compare.";
  return "The value is larger than LockDeck reads, so it cannot be compared exactly.";
}

function deletesText(lock: LockView, h: Record<string, unknown>): string {
  if (h.t === "string") return `STRING ${lock.key} while its value is exactly ${JSON.stringify(lock.holders[0]?.id ?? "")}`;
  if (h.t === "hash") return `HASH ${lock.key} while its fields are exactly ${h.fields}`;
  return "nothing";
}

function wakesText(lock: LockView, h: Record<string, unknown>, sharded: boolean): string | undefined {
  if (h.t === "hash" && h.ch) {
    const head = lock.format === "redisson.fair" && lock.waiters[0] ? `the head waiter ${lock.waiters[0].id}` : "waiters";
    return `${head}: PUBLISH ${h.msg} on ${h.ch}${sharded ? " (and SPUBLISH where the node runs Redis ≥ 7: sharded pub/sub)" : ""}`;
  }
  if (lock.format === "redis.python-redis-lock") return `waiters blocked on lock-signal:${lock.name} (LPUSH 1)`;
  return undefined;
}

function problemsOf(r: ReadResult): Problem[] {
  return [...r.problems, ...r.vanished.map((key) => ({ key, code: "vanished", message: "deleted between discovery and read" }))];
}

/**
 * A re-read's parts as one. A key it did not find is no problem here: the read set is the lock
 * key and every helper key its layout might have (related.ts), most of which never exist, and a
 * lock key that is not found is `gone`. (Only a snapshot's keys were listed by SCAN first, so
 * only there does a missing key mean it vanished meanwhile: problemsOf.) Reported as problems,
 * the helper keys piled up in the hub, which clears problems only under the keys it re-reads.
 */
function mergeReads(parts: ReadResult[]): Pick<ReadResult, "entries" | "problems"> {
  return { entries: parts.flatMap((p) => p.entries), problems: parts.flatMap((p) => p.problems) };
}

/** Cluster pipelines must stay in one slot; a standalone server takes everything in one. */
function bySlot(client: RedisClient, keys: string[]): Array<{ client: RedisClient; keys: Buffer[] }> {
  if (!(client instanceof Cluster)) return [{ client, keys: keys.map(keyToBytes) }];
  const groups = new Map<number, Buffer[]>();
  for (const k of keys) {
    const b = keyToBytes(k);
    const slot = calculateSlot(b);
    groups.set(slot, [...(groups.get(slot) ?? []), b]);
  }
  return [...groups.values()].map((g) => ({ client, keys: g }));
}

async function ready(client: RedisClient, signal: AbortSignal): Promise<void> {
  if (client.status === "ready") return;
  await withTimeout(new Promise<void>((resolve) => client.once("ready", () => resolve())), CONNECT_TIMEOUT_MS, signal, `not connected (${client.status})`);
}
