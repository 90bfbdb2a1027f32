// One hub per connection: the only place that caches, diffs and fans out.
//   - keeps the last good snapshot; on a failed read it stays, marked stale with its age;
//   - follows the store's push feed (adapter.watch) where there is one, else polls;
//   - watches health while live, and takes a fresh snapshot when the store comes back;
//   - fills "since" for holders the store gives no start time for (first sighting).

import type { ConnectionStatus, LockRecord, Problem, StoreAdapter } from "../model";
import { diffSnapshots, fingerprint } from "./diff";
import type { ConnectionStatusEvent, EventBus } from "./bus";
import { SortedView, applyFilters, type LockQuery } from "./query";
import { lockStatus, type LockStatus } from "../status";
import { applyRules, hasRules, type StaleRules } from "./rules";
import { ReadGate } from "./gate";
import { withDerived } from "./derived";

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
}

/** A slow read is shown for this long after it completed. */
const SLOW_SHOWN_MS = 60_000;

export class Hub {
  private records = new Map<string, LockRecord>();
  private problems: Problem[] = [];
  /** Warnings derived across locks (lib/waits), by lock key: put on every new record of that key. */
  private derived = new Map<string, readonly string[]>();
  private version = 0;
  private view = new SortedView();
  private countsCache: { version: number; counts: Record<LockStatus | "problems", number> } | null = null;
  private status: ConnectionStatus = "unreachable";
  private message = "connecting";
  private server: string | undefined;
  private observedAt: string | null = null;
  private consistency: string;
  private lastGoodAt: number | null = null;
  /** The mode the last status event announced. */
  private shownMode: string | null = null;
  /** How long the last full snapshot took (ms), for /api/metrics. */
  private snapshotMs: number | null = null;
  private failedSince: number | null = null;
  /** How long the last small store read (health check, re-read of a few keys) took, and when it answered. */
  private lastRead: { ms: number; at: number } | null = null;
  /** API requests' reads of this store: capped in flight, cut at the deadline. */
  readonly reads: ReadGate;
  private stopped = new AbortController();
  private watchCycle: AbortController | null = null;
  private watchUnavailable: string | null = null;
  private pollWake: (() => void) | null = null;
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
      ...opts,
    };
    this.consistency = "";
    this.reads = new ReadGate(this.opts.reads.maxInFlight, this.opts.reads.deadlineMs);
  }

  start(): void {
    void this.run();
    const timer = setInterval(() => void this.checkHealth(), this.opts.healthIntervalMs);
    timer.unref?.();
    const rules = hasRules(this.opts.rules) ? setInterval(() => this.reapplyRules(), this.opts.rulesIntervalMs) : null;
    rules?.unref?.();
    this.stopped.signal.addEventListener("abort", () => {
      clearInterval(timer);
      if (rules) clearInterval(rules);
    });
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    this.watchCycle?.abort();
    this.pollWake?.();
    await this.adapter.close();
  }

  // ---- reading ---------------------------------------------------------------------------

  private async run(): Promise<void> {
    let backoff = 250;
    const signal = this.stopped.signal;
    while (!signal.aborted) {
      const feed = this.adapter.watch !== undefined && !this.watchUnavailable;
      // A feed that reads its own first snapshot (watchBeforeSnapshot) needs none before it.
      const ok = feed && this.adapter.watchBeforeSnapshot ? await this.follow() : (await this.refresh()) && (!feed || (await this.follow()));
      if (!ok) {
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, 5_000);
        continue;
      }
      backoff = 250;
      if (!feed) await this.pause(this.adapter.updateMode().intervalMs ?? 5_000);
    }
  }

  /**
   * Follows the push feed until it ends, breaks, or a resync is due. False when a snapshot it
   * asked for failed (the caller backs off); a feed that is not available here (it failed before
   * its first item) sets watchUnavailable and returns true, so the caller polls at once.
   */
  private async follow(): Promise<boolean> {
    const cycle = new AbortController();
    this.watchCycle = cycle;
    const stop = () => cycle.abort();
    this.stopped.signal.addEventListener("abort", stop, { once: true });
    let yielded = false;
    // Even a quiet feed is re-listed now and then: a missed event would otherwise stay missed.
    const resyncTimer = setTimeout(() => cycle.abort(), this.opts.resyncIntervalMs);
    resyncTimer.unref?.();
    try {
      const feed = this.adapter.watch!(cycle.signal);
      this.emitStatus();
      for await (const change of feed) {
        yielded = true;
        if (change.resync) {
          if (!(await this.refresh())) return false;
        } else if (change.keys.length > 0) await this.applyChanges(change.keys);
        // An adapter may turn live only once it has caught up; say so as soon as it does.
        if (this.adapter.updateMode().mode !== this.shownMode) this.emitStatus();
      }
      return true;
    } catch (err) {
      if (cycle.signal.aborted) return true;
      // A feed that fails before its first batch is not available here (e.g. no tracking and
      // keyspace events off); poll instead and try the feed again at the next resync (or when
      // the store comes back after a failure). A failed read will say if the store is down.
      if (!yielded) {
        this.watchUnavailable = (err as Error).message;
        setTimeout(() => (this.watchUnavailable = null), this.opts.resyncIntervalMs).unref?.();
        return true;
      }
      this.markFailed(err);
      return false;
    } finally {
      clearTimeout(resyncTimer);
      this.stopped.signal.removeEventListener("abort", stop);
      this.watchCycle = null;
      this.emitStatus();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.pollWake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** A full snapshot. Returns false (and keeps the last good one) when the read fails. */
  async refresh(): Promise<boolean> {
    try {
      const started = performance.now();
      const snap = await this.adapter.snapshot(this.stopped.signal);
      this.snapshotMs = performance.now() - started;
      const next = new Map(snap.locks.map((r) => [r.key, this.withSince(r)]));
      const diff = diffSnapshots(this.records, next);
      this.records = next;
      this.problems = snap.problems;
      this.observedAt = snap.observedAt;
      this.consistency = snap.consistency;
      this.markGood();
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
      if (keys.length <= 20) this.answered(performance.now() - started);
      let changed = false;
      for (const rec of res.locks) {
        const lock = this.withSince(rec);
        const old = this.records.get(lock.key);
        this.records.set(lock.key, lock);
        if (!old || fingerprint(old) !== fingerprint(lock)) {
          changed = true;
          this.publishUpsert(lock);
        }
      }
      for (const key of res.gone) {
        if (!this.records.delete(key)) continue;
        changed = true;
        this.publishRemove(key);
      }
      if (changed) {
        this.version++;
        this.emitStatus();
      }
    } catch (err) {
      this.markFailed(err);
      this.watchCycle?.abort();
    }
  }

  private async checkHealth(): Promise<void> {
    const started = performance.now();
    const h = await this.adapter.health(this.stopped.signal);
    if (h.status !== "unreachable") this.answered(performance.now() - started);
    this.server = h.server ?? this.server;
    if (h.status === "unreachable") {
      this.markFailed(new Error(h.message));
      return;
    }
    if (this.failedSince !== null) {
      // Back after a failure: whatever the feed missed meanwhile is unknown; re-list now, and
      // try the feed again (it may have failed only because the store was down).
      this.watchUnavailable = null;
      this.watchCycle?.abort();
      this.pollWake?.();
    }
  }

  private answered(ms: number): void {
    this.lastRead = { ms, at: Date.now() };
  }

  /** The last answer took longer than slowMs, not long ago. */
  private slowMs(): number | null {
    const r = this.lastRead;
    return r && r.ms > this.opts.reads.slowMs && Date.now() - r.at < SLOW_SHOWN_MS ? Math.round(r.ms) : null;
  }

  private markGood(): void {
    this.status = "ok";
    this.message = this.watchUnavailable ? `polling: ${this.watchUnavailable}` : "";
    this.lastGoodAt = Date.now();
    this.failedSince = null;
  }

  private markFailed(err: unknown): void {
    const was = this.status;
    this.status = "unreachable";
    this.message = err instanceof Error ? err.message : String(err);
    this.failedSince ??= Date.now();
    if (was !== "unreachable") this.emitStatus();
  }

  /**
   * Fills first-sighting times where the store records none (from the record this one replaces:
   * same key, same holder or waiter id → same first sighting; else the read's time), then
   * applies the stale rules. Fills the new record in place: it comes fresh from the adapter and
   * is not shared yet. (A copy per holder gave every holder object its own hidden class in V8:
   * ~180 bytes each.)
   */
  private withSince(r: LockRecord): LockRecord {
    const old = this.records.get(r.key);
    for (const h of r.holders) {
      if (h.since) continue;
      const prev = old?.holders.find((x) => x.id === h.id && x.sinceObserved);
      h.since = prev?.since ?? r.observedAt;
      h.sinceObserved = true;
    }
    for (const w of r.waiters) {
      if (w.since) continue;
      w.since = old?.waiters.find((x) => x.id === w.id)?.since ?? r.observedAt;
    }
    return withDerived(applyRules(r, this.opts.rules, Date.now()), this.derived.get(r.key));
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

  statusEvent(): ConnectionStatusEvent & {
    message: string;
    consistency: string;
    server?: string;
    pollIntervalMs?: number;
    snapshotMs: number | null;
    slowMs: number | null;
    reads: { inFlight: number; peak: number; max: number; deadlineMs: number };
  } {
    const mode = this.adapter.updateMode();
    const stale = this.isStale();
    // A store that answers, only slowly, is "degraded: slow" (with its data's age), not down.
    const slowMs = this.slowMs();
    const slow = slowMs !== null && (this.status === "ok" || this.lastRead!.at >= (this.failedSince ?? 0));
    return {
      connection: this.id,
      status: slow ? "degraded" : this.status,
      message: slow
        ? `slow: the store took ${(slowMs / 1000).toFixed(1)} s to answer its last read${this.status === "ok" ? "" : `, and ${this.message}`}`
        : this.message,
      mode: mode.mode,
      feed: mode.feed,
      pollIntervalMs: mode.intervalMs,
      stale,
      staleAgeMs: stale && this.lastGoodAt !== null ? Date.now() - this.lastGoodAt : null,
      lockCount: this.records.size,
      observedAt: this.observedAt,
      consistency: this.consistency,
      server: this.server,
      snapshotMs: this.snapshotMs,
      slowMs,
      reads: { ...this.reads.stats(), max: this.reads.maxInFlight, deadlineMs: this.reads.deadlineMs },
    };
  }

  isStale(): boolean {
    if (this.status !== "ok" || this.lastGoodAt === null) return true;
    const mode = this.adapter.updateMode();
    return mode.mode === "polling" && Date.now() - this.lastGoodAt > 3 * (mode.intervalMs ?? 5_000);
  }

  get reachable(): boolean {
    return this.status === "ok";
  }

  get(key: string): LockRecord | undefined {
    return this.records.get(key);
  }

  all(): Iterable<LockRecord> {
    return this.records.values();
  }

  query(q: LockQuery): { total: number; locks: LockRecord[] } {
    const rows = applyFilters(this.view.sorted(this.records, this.version, q.sort, q.dir), q);
    return { total: rows.length, locks: rows.slice(q.offset, q.offset + q.limit) };
  }

  /** Lock counts per state word, cached per snapshot version. */
  counts(): Record<LockStatus | "problems", number> {
    if (this.countsCache?.version === this.version) return this.countsCache.counts;
    const counts = { held: 0, contended: 0, stale: 0, expiring: 0, free: 0, unknown: 0, problems: this.problems.length };
    for (const r of this.records.values()) counts[lockStatus(r)]++;
    this.countsCache = { version: this.version, counts };
    return counts;
  }

  formats(): string[] {
    return [...new Set([...this.records.values()].map((r) => r.format))].sort();
  }

  currentProblems(): Problem[] {
    return this.problems;
  }
}
