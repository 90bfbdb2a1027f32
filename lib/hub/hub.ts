// One hub per connection: the only place that caches, diffs and fans out. It owns the read
// model (the last good snapshot, problems, derived warnings, sorted views and counts) and the
// events it publishes; its parts live beside it:
//   - loop.ts: follows the store's push feed (adapter.watch) where there is one, else polls;
//   - health.ts: health checks while live (a fresh snapshot when the store comes back), and
//     when the view was last confirmed (a read, or a health check while the feed is live):
//     every age and the staleness come from that one time (freshness()); a failed read keeps
//     the last good snapshot, marked stale with its age;
//   - since.ts: "since" for holders the store gives no start time for (first sighting), and for
//     a waiter that took over (when it became the holder, not when it joined the queue);
//   - anon-waiters.ts: the polled counts of waiters the store does not name.

import { UNREAD_PREFIX, type LockRecord, type Problem, type StoreAdapter } from "../model";
import type { ConnectionStatusAnswer, Freshness } from "../api/types";
import { diffSnapshots, fingerprint } from "./diff";
import type { EventBus } from "./bus";
import { SortedView, type LockQuery } from "./query";
import type { LockStatus } from "../status";
import { applyRules, hasRules, type StaleRules } from "./rules";
import { ReadGate } from "./gate";
import { withDerived } from "./derived";
import { CATCHING_UP_MS, ConnectionHealth } from "./health";
import { FeedLoop } from "./loop";
import { StartTimes } from "./since";
import { AnonymousWaiterCounts } from "./anon-waiters";
import { Renewals, type Renewed } from "./renewals";
import { shareEmptyLists } from "./share-empty";
import { RecordMap } from "./records";

export interface HubOptions {
  healthIntervalMs?: number;
  /** Even while live, re-list this often in case the push feed missed something. */
  resyncIntervalMs?: number;
  /** A diff larger than this is sent as one resync hint instead of single events. */
  maxEventsPerDiff?: number;
  /** Stale-lock rules of this connection (held too long, waiter queued too long). */
  rules?: StaleRules;
  /** How often time-based rules are re-checked. */
  rulesIntervalMs?: number;
  /** Reads made for API requests (lib/hub/gate.ts), and when a read counts as slow. */
  reads?: { maxInFlight: number; deadlineMs: number; slowMs: number };
  /** How often the counts of anonymous waiters are polled (adapters that have them). */
  waitersIntervalMs?: number;
  /** A departed waiter's first sighting is kept this long, so a queue reorder keeps its wait. */
  departedGraceMs?: number;
}

export class Hub {
  /** Journals the keys it changes, so the table's key order is patched, not re-sorted (query.ts). */
  private records = new RecordMap();
  private problems: Problem[] = [];
  /** Warnings derived across locks (lib/waits), by lock key: put on every new record of that key. */
  private derived = new Map<string, readonly string[]>();
  private version = 0;
  private view = new SortedView();
  private readonly renewals = new Renewals();
  private observedAt: string | null = null;
  private consistency: string;
  /** The mode the last status event announced. */
  private shownMode: string | null = null;
  /** How long the last full snapshot took (ms), for /api/metrics. */
  private snapshotMs: number | null = null;
  /** Reachability, confirmation and slowness of this connection (lib/hub/health.ts). */
  private readonly health: ConnectionHealth;
  /** When holders and waiters started (lib/hub/since.ts). */
  private readonly starts: StartTimes;
  /** Counts of waiters the store does not name (lib/hub/anon-waiters.ts). */
  private readonly anon = new AnonymousWaiterCounts();
  /** API requests' reads of this store: capped in flight, cut at the deadline. */
  readonly reads: ReadGate;
  private stopped = new AbortController();
  /** Follows the feed or polls (lib/hub/loop.ts). */
  private readonly loop: FeedLoop;
  private readonly opts: Required<HubOptions>;

  constructor(
    readonly id: string,
    readonly adapter: StoreAdapter,
    private readonly bus: EventBus,
    opts: HubOptions = {},
  ) {
    this.opts = {
      healthIntervalMs: 3_000,
      resyncIntervalMs: 10 * 60_000,
      maxEventsPerDiff: 500,
      rules: {},
      rulesIntervalMs: 5_000,
      reads: { maxInFlight: 4, deadlineMs: 2_000, slowMs: 1_000 },
      waitersIntervalMs: 2_000,
      departedGraceMs: 60_000,
      ...opts,
    };
    this.consistency = "";
    this.reads = new ReadGate(this.opts.reads.maxInFlight, this.opts.reads.deadlineMs);
    this.health = new ConnectionHealth(this.opts.reads.slowMs, () => this.adapter.relayed?.());
    this.starts = new StartTimes(this.opts.departedGraceMs);
    this.loop = new FeedLoop(adapter, this.stopped.signal, this.opts.resyncIntervalMs, {
      refresh: () => this.refresh(),
      applyChanges: (keys) => this.applyChanges(keys),
      publishStatus: () => this.emitStatus(),
      shownMode: () => this.shownMode,
      // Confirmed now: the records the batch applied were observed before this (an outage's gap
      // starts at the last confirmation, and history's holdings must not be lost before they began).
      caughtUp: () => {
        if (this.health.reachable && this.feedOpen()) this.health.confirm("read");
      },
    });
  }

  start(): void {
    void this.loop.run();
    const timer = setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs);
    timer.unref?.();
    const rules = hasRules(this.opts.rules) ? setInterval(() => this.reapplyRules(), this.opts.rulesIntervalMs) : null;
    rules?.unref?.();
    const waiters = this.adapter.anonymousWaiters ? setInterval(() => void this.probeWaiters(), this.opts.waitersIntervalMs) : null;
    waiters?.unref?.();
    this.stopped.signal.addEventListener("abort", () => {
      clearInterval(timer);
      if (rules) clearInterval(rules);
      if (waiters) clearInterval(waiters);
    });
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.loop.stop();
    await this.adapter.close();
  }

  // ---- reading (the loop in lib/hub/loop.ts calls these) --------------------------------------

  /** A full snapshot. Returns false (and keeps the last good one) when the read fails. */
  async refresh(): Promise<boolean> {
    try {
      const started = performance.now();
      const snap = await this.adapter.snapshot(this.stopped.signal);
      this.snapshotMs = performance.now() - started;
      const now = Date.now();
      const next = new RecordMap(snap.locks.map((r) => [r.key, this.withSince(r, now)]));
      this.keepUnread(snap.problems, next);
      const diff = diffSnapshots(this.records, next);
      for (const key of diff.removes) this.starts.gone(this.records.get(key));
      this.records = next;
      this.renewals.markAll();
      this.problems = snap.problems;
      this.observedAt = snap.observedAt;
      this.consistency = snap.consistency;
      // Back after a failure, and the feed was given up while the store was down: try it again.
      // A health check does the same when it sees the store back first; when this read does,
      // the check finds nothing failed, and the console would poll until the next resync.
      if (this.health.markGood(this.loop.unavailableReason) && this.loop.unavailableReason) this.loop.retryFeed();
      this.pruneAnon();
      this.version++;
      if (diff.upserts.length + diff.removes.length > this.opts.maxEventsPerDiff) {
        this.bus.publish({ type: "resync", connection: this.id, data: { connection: this.id } });
      } else {
        for (const lock of diff.upserts) this.publishUpsert(lock);
        for (const key of diff.removes) this.publishRemove(key);
      }
      this.emitStatus();
      return true;
    } catch (err) {
      if (this.stopped.signal.aborted) return false;
      this.markFailed(err);
      return false;
    }
  }

  /**
   * Stale beats partial: a prefix the snapshot could not read (a problem with code UNREAD_PREFIX,
   * its key the prefix: over maxKeysPerPrefix, say, in a lock storm) keeps its locks as last read,
   * each warned "not-reread", instead of losing them (and their deadlock flags and alerts) as if
   * they had gone. A later read of the prefix replaces them.
   */
  private keepUnread(problems: Problem[], next: RecordMap): void {
    const unread = problems.filter((p) => p.code === UNREAD_PREFIX).map((p) => p.key);
    if (unread.length === 0) return;
    for (const [key, r] of this.records) {
      if (next.has(key) || !unread.some((p) => key.startsWith(p))) continue;
      next.set(key, r.warnings.includes("not-reread") ? r : { ...r, warnings: [...r.warnings, "not-reread"] });
    }
  }

  /** Re-reads the locks behind some changed store keys and publishes what changed. */
  async applyChanges(keys: string[]): Promise<void> {
    if (!this.adapter.reread) {
      await this.refresh();
      return;
    }
    try {
      const started = performance.now();
      const res = await this.adapter.reread(keys, this.stopped.signal);
      // A few keys' re-read is a latency sample; a full snapshot's time grows with the data.
      if (keys.length <= 20) this.health.answered(performance.now() - started);
      const now = Date.now();
      let changed = this.replaceProblems([...keys, ...res.locks.map((l) => l.key), ...res.gone, ...(res.covers ?? [])], res.problems);
      for (const rec of res.locks) {
        const lock = this.withSince(rec, now);
        const old = this.records.get(lock.key);
        this.records.set(lock.key, lock);
        if (!old || fingerprint(old) !== fingerprint(lock)) {
          changed = true;
          this.publishUpsert(lock);
        } else this.renewals.add(lock.key);
      }
      for (const key of res.gone) {
        const old = this.records.get(key);
        if (!this.records.delete(key)) continue;
        this.starts.gone(old);
        changed = true;
        this.publishRemove(key);
      }
      // While the live feed runs and has nothing waiting, a successful re-read (the lock page's)
      // confirms the view (the feed covers the rest). Confirmed now, not as of an earlier time:
      // the records it applied are observed now, and an outage's gap starts at the last
      // confirmation, so a confirmation dated before them would have the history record holdings
      // lost before they began (outage.test.ts). The re-read of a feed batch confirms nothing:
      // batches that came in meanwhile wait behind it (a burst: "800 shown, 7 200 acknowledged,
      // confirmed 1 ms ago" in burst.test.ts); the loop confirms once none waits (caughtUp).
      // Polling, or during an outage, a re-read of a few keys does not make the rest of the view
      // current: the next poll or re-list does.
      if (this.health.reachable && this.feedLive()) this.health.confirm("read");
      if (changed) {
        this.version++;
        this.pruneAnon();
        this.emitStatus();
      }
    } catch (err) {
      this.markFailed(err);
      this.loop.abortFeed();
    }
  }

  /**
   * A re-read covers some keys: problems reported under them before are replaced by what the
   * re-read found (a ZooKeeper root that did not exist at start-up clears once it is created).
   */
  private replaceProblems(keys: string[], found: Problem[]): boolean {
    const scopes = [...new Set(keys)];
    const covered = (k: string) => scopes.some((s) => k === s || k.startsWith(s.endsWith("/") ? s : s + "/"));
    const id = (p: Problem) => `${p.key}\u0000${p.code}\u0000${p.message}`;
    const kept = this.problems.filter((p) => !covered(p.key));
    const have = new Set(kept.map(id));
    const next = [...kept, ...found.filter((p) => !have.has(id(p)))];
    const same = next.length === this.problems.length && next.every((p, i) => id(p) === id(this.problems[i]));
    if (!same) this.problems = next;
    return !same;
  }

  private checkHealth(): Promise<void> {
    return this.health.check(this.adapter, this.stopped.signal, {
      publish: () => this.emitStatus(),
      back: () => this.loop.retryFeed(),
      feedLive: () => this.feedLive(),
    });
  }

  /** The live feed is open and the adapter says it is live. */
  private feedOpen(): boolean {
    return this.loop.following && this.adapter.updateMode().mode === "live";
  }

  /**
   * The live feed is open, live, and nothing it delivered waits to be applied: it would have
   * told of any change, so a health check confirms the view. While a batch is being applied
   * (a burst's re-read or re-list) the view is behind the store and a check confirms nothing.
   */
  private feedLive(): boolean {
    return this.feedOpen() && this.loop.catchingUpSince === null;
  }

  private markFailed(err: unknown): void {
    if (this.health.markFailed(err)) this.emitStatus();
  }

  /**
   * The adapter's fresh record, completed: its empty lists shared (share-empty.ts), holders' and
   * waiters' start times (lib/hub/since.ts, filled in place), then the anonymous waiter count,
   * the stale rules (as of `now`: one clock reading per read — Next wraps Date.now(), and a
   * call per record showed as 8–18 ms of a 100k start in CPU profiles) and the derived warnings.
   */
  private withSince(r: LockRecord, now: number): LockRecord {
    shareEmptyLists(r);
    this.starts.fill(this.records.get(r.key), r);
    const anon = r.state === "held" ? this.anon.get(r.key) : undefined;
    if (anon) r.anonymousWaiters = anon;
    return withDerived(applyRules(r, this.opts.rules, now), this.derived.get(r.key));
  }

  /**
   * Warnings derived across locks (lib/waits: "deadlock") for one lock key, replacing the ones
   * given before; kept for the key's later records, and published at once when they change the
   * current one.
   */
  setDerivedWarnings(key: string, warnings: readonly string[]): void {
    if (warnings.length) this.derived.set(key, warnings);
    else this.derived.delete(key);
    const cur = this.records.get(key);
    const next = cur && withDerived(cur, warnings);
    if (!cur || !next || next === cur) return;
    this.records.set(key, next);
    this.version++;
    this.publishUpsert(next);
  }

  /** Time alone makes a rule fire: re-check every record and publish the ones that changed. */
  private reapplyRules(): void {
    const now = Date.now();
    let changed = false;
    for (const [key, r] of this.records) {
      const next = applyRules(r, this.opts.rules, now);
      if (next === r) continue;
      this.records.set(key, next);
      this.publishUpsert(next);
      changed = true;
    }
    if (changed) {
      this.version++;
      this.emitStatus();
    }
  }

  private pruneAnon(): void {
    this.anon.prune((key) => this.records.get(key)?.state === "held");
  }

  /** Polls the counts of waiters the store does not name, and publishes the locks whose count changed. */
  private async probeWaiters(): Promise<void> {
    if (!this.health.reachable || !this.adapter.anonymousWaiters) return;
    const signal = AbortSignal.any([this.stopped.signal, AbortSignal.timeout(this.opts.waitersIntervalMs * 2)]);
    const changes = await this.anon.poll(this.adapter, this.records, this.version, signal);
    let changed = false;
    for (const [key, next] of changes) {
      const cur = this.records.get(key);
      if (!cur) continue;
      const rec: LockRecord = { ...cur, anonymousWaiters: next };
      this.records.set(key, rec);
      this.publishUpsert(rec);
      changed = true;
    }
    if (changed) {
      this.version++;
      this.emitStatus();
    }
  }

  private publishUpsert(lock: LockRecord) {
    this.bus.publish({ type: "upsert", connection: this.id, data: { connection: this.id, lock } });
  }

  private publishRemove(key: string) {
    this.bus.publish({ type: "remove", connection: this.id, data: { connection: this.id, key } });
  }

  private emitStatus(): void {
    const data = this.statusEvent();
    this.shownMode = data.mode;
    this.bus.publish({ type: "status", connection: this.id, data });
  }

  // ---- answering ---------------------------------------------------------------------------

  statusEvent(): ConnectionStatusAnswer {
    const mode = this.adapter.updateMode();
    const shown = this.health.shown();
    const now = Date.now();
    const behind = this.loop.catchingUpSince;
    const catchingUp =
      behind !== null && now - behind > CATCHING_UP_MS && shown.status !== "unreachable"
        ? `catching up: changes the live feed delivered ${((now - behind) / 1000).toFixed(1)} s ago are still being applied`
        : null;
    return {
      connection: this.id,
      status: shown.status,
      message: catchingUp ? (shown.message ? `${shown.message}; ${catchingUp}` : catchingUp) : shown.message,
      mode: mode.mode,
      feed: mode.feed,
      pollIntervalMs: mode.intervalMs,
      ...this.freshness(now),
      lockCount: this.records.size,
      observedAt: this.observedAt,
      consistency: this.consistency,
      server: shown.server,
      snapshotMs: this.snapshotMs,
      slowMs: shown.slowMs,
      reads: { ...this.reads.stats(), max: this.reads.maxInFlight, deadlineMs: this.reads.deadlineMs },
    };
  }

  /** How current the view is: the one place every age and the staleness are computed (lib/hub/health.ts). */
  freshness(now = Date.now()): Freshness {
    return this.health.freshness(now, this.staleAfterMs(), this.loop.catchingUpSince);
  }

  /**
   * Stale = the view may not match the store: unreachable, never read, or not confirmed for
   * too long (polling: 3 intervals; live: 3 health checks, at least 10 s), or catching up (a
   * batch of the live feed not applied after CATCHING_UP_MS).
   */
  isStale(now = Date.now()): boolean {
    return this.health.isStale(now, this.staleAfterMs(), this.loop.catchingUpSince);
  }

  private staleAfterMs(): number {
    const mode = this.adapter.updateMode();
    return mode.mode === "polling" ? 3 * (mode.intervalMs ?? 5_000) : Math.max(3 * this.opts.healthIntervalMs, 10_000);
  }

  get reachable(): boolean {
    return this.health.reachable;
  }

  get(key: string): LockRecord | undefined {
    return this.records.get(key);
  }

  all(): Iterable<LockRecord> {
    return this.records.values();
  }

  /** Keys whose record was replaced without a published change since the last call (one reader: the history recorder). */
  takeRenewals(): Renewed {
    return this.renewals.take();
  }

  query(q: LockQuery): { total: number; locks: LockRecord[] } {
    return this.view.query(this.records, this.version, q);
  }

  /** Lock counts per state word (counted as records come and go: records.ts). */
  counts(): Record<LockStatus | "problems", number> {
    return { ...this.records.counts().statuses, problems: this.problems.length };
  }

  /** One point of the overview's trend: locks with waiters, waiters (named + anonymous), locks. */
  sample(): { connection: string; contended: number; waiters: number; locks: number; stale: boolean } {
    const { contended, waiters } = this.records.counts();
    return { connection: this.id, contended, waiters, locks: this.records.size, stale: this.isStale() };
  }

  /** The formats present (every locks page carries them), counted as records come and go. */
  formats(): string[] {
    return this.records.formats();
  }

  currentProblems(): Problem[] {
    return this.problems;
  }
}
