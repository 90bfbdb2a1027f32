// One hub per connection: the only place that caches, diffs and fans out.
//   - keeps the last good snapshot; on a failed read it stays, marked stale with its age;
//   - follows the store's push feed (adapter.watch) where there is one, else polls;
//   - watches health while live, and takes a fresh snapshot when the store comes back;
//   - fills "since" for holders the store gives no start time for (first sighting), and for a
//     waiter that took over (when it became the holder, not when it joined the queue);
//   - tracks when the view was last confirmed (a read, or a health check while the feed is
//     live): every age and the staleness come from that one time (freshness());
//   - polls the counts of waiters the store does not name (adapter.anonymousWaiters).

import type { AnonymousWaiters, ConnectionStatus, LockRecord, Problem, SinceSource, StoreAdapter } from "../model";
import type { Freshness } from "../api/types";
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
  /** How often the counts of anonymous waiters are polled (adapters that have them). */
  waitersIntervalMs?: number;
  /** A departed waiter's first sighting is kept this long, so a queue reorder keeps its wait. */
  departedGraceMs?: number;
}

/** At most this many held locks are asked about anonymous waiters per poll. */
const MAX_WAITER_PROBES = 10_000;

/** A slow read is shown for this long after it completed. */
const SLOW_SHOWN_MS = 60_000;

export class Hub {
  private records = new Map<string, LockRecord>();
  /** Anonymous waiter counts per lock key, from the last poll. */
  private anon = new Map<string, AnonymousWaiters>();
  /** Waiters that left a queue lately (key + id → their start), for a reorder that brings them back. */
  private departed = new Map<string, { since: string; source: SinceSource; at: number }>();
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
  /** Last time the view was confirmed current (ms), and by what. */
  private confirmedAt: number | null = null;
  private confirmedBy: Freshness["confirmedBy"] = null;
  /** The last confirmation before the current failure (ms); null while reachable. */
  private outageSince: number | null = null;
  /** The mode the last status event announced. */
  private shownMode: string | null = null;
  /** How long the last full snapshot took (ms), for /api/metrics. */
  private snapshotMs: number | null = null;
  private failedSince: number | null = null;
  /** Why the store's own health check says "degraded" (no leader, cluster_state:fail), or null. */
  private healthNote: string | null = null;
  /** Last failure that was not just a check still waiting for its answer (ms). */
  private hardFailureAt = 0;
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
      waitersIntervalMs: 2_000,
      departedGraceMs: 60_000,
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
      // A feed that breaks does not make the store unreachable: the re-list that follows (run())
      // decides. Marking it here would record an outage for every feed reconnect.
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
      let changed = this.replaceProblems([...keys, ...res.locks.map((l) => l.key), ...res.gone], res.problems);
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
      // While the live feed runs, a successful re-read confirms the view (the feed covers the
      // rest). Polling, or during an outage, a re-read of a few keys (the lock page) does not
      // make the rest of the view current: the next poll or re-list does.
      if (this.status === "ok" && this.watchCycle && this.adapter.updateMode().mode === "live") this.confirm("read");
      if (changed) {
        this.version++;
        this.pruneAnon();
        this.emitStatus();
      }
    } catch (err) {
      this.markFailed(err);
      this.watchCycle?.abort();
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

  private async checkHealth(): Promise<void> {
    const started = performance.now();
    const h = await this.adapter.health(this.stopped.signal);
    if (h.status !== "unreachable") this.answered(performance.now() - started);
    this.server = h.server ?? this.server;
    const note = h.status === "degraded" ? h.message : null;
    if (note !== this.healthNote) {
      this.healthNote = note;
      this.emitStatus();
    }
    if (h.status === "unreachable") {
      // A check that timed out with its request still out is no proof the store is down: if
      // the answer comes after all, it is a (slow) answer; if it never does, that is a failure.
      this.markFailed(new Error(h.message), !!h.late);
      void h.late?.then((why) => {
        if (this.stopped.signal.aborted) return;
        if (why === null) this.answered(performance.now() - started);
        else this.markFailed(new Error(`${h.message}; no answer after all: ${why}`));
        this.emitStatus();
      });
      return;
    }
    if (this.failedSince !== null) {
      // Back after a failure: whatever the feed missed meanwhile is unknown; re-list now, and
      // try the feed again (it may have failed only because the store was down).
      this.watchUnavailable = null;
      this.watchCycle?.abort();
      this.pollWake?.();
      return;
    }
    // The store answers and the live feed is open: it would have told us of any change, so the
    // view is confirmed as of now. Published, so open pages see "live, confirmed 1 s ago".
    if (this.status === "ok" && this.watchCycle && this.adapter.updateMode().mode === "live") {
      this.confirm("live-feed");
      this.emitStatus();
    }
  }

  private confirm(by: "read" | "live-feed"): void {
    this.confirmedAt = Date.now();
    this.confirmedBy = by;
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
    this.confirm("read");
    this.failedSince = null;
    this.outageSince = null;
  }

  /** `pending`: a check that stopped waiting while its answer may still come (Health.late). */
  private markFailed(err: unknown, pending = false): void {
    const was = this.status;
    this.status = "unreachable";
    this.message = err instanceof Error ? err.message : String(err);
    this.failedSince ??= Date.now();
    if (!pending) this.hardFailureAt = Date.now();
    if (was !== "unreachable") {
      this.outageSince = this.confirmedAt;
      this.emitStatus();
    }
  }

  /**
   * Fills `since` and labels where it comes from (sinceSource), from the record this one
   * replaces: the same holder or waiter keeps its start; a holder that was queued there took
   * over in this change, so its start is now (ZooKeeper's ctime is its queue join, not the
   * take-over) — unless the store records the acquisition itself (later than the join); a
   * waiter that left the queue moments ago and is back (a reorder) keeps its first sighting;
   * anything else new starts at the store's time where it records one, else at this read. Then
   * the anonymous waiter count and the stale rules. Fills the new record in place: it comes
   * fresh from the adapter and is not shared yet (a copy per holder gave every holder object its
   * own hidden class in V8).
   */
  private withSince(r: LockRecord): LockRecord {
    const old = this.records.get(r.key);
    for (const h of r.holders) {
      const prev = old?.holders.find((x) => x.id === h.id);
      if (prev) {
        h.since = prev.since;
        h.sinceObserved = prev.sinceObserved;
        h.sinceSource = prev.sinceSource;
        continue;
      }
      const queued = old?.waiters.find((x) => x.id === h.id);
      if (queued && (!h.since || h.sinceObserved || !queued.since || Date.parse(h.since) <= Date.parse(queued.since))) {
        h.since = r.observedAt;
        h.sinceObserved = true;
        h.sinceSource = "became-holder";
      } else if (h.since) {
        h.sinceSource ??= h.sinceObserved ? "first-seen" : "store";
      } else {
        h.since = r.observedAt;
        h.sinceObserved = true;
        h.sinceSource = "first-seen";
      }
    }
    for (const w of r.waiters) {
      if (w.since) {
        w.sinceSource ??= "store";
        continue;
      }
      const prev = old?.waiters.find((x) => x.id === w.id) ?? this.returning(r.key, w.id);
      w.since = prev?.since ?? r.observedAt;
      w.sinceSource = prev?.sinceSource ?? "first-seen";
    }
    if (old) this.noteDepartures(old, r);
    const anon = r.state === "held" ? this.anon.get(r.key) : undefined;
    if (anon) r.anonymousWaiters = anon;
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

  /** Waiters in `old` that are neither waiting nor holding in `next`: remembered for the grace period. */
  private noteDepartures(old: LockRecord, next: LockRecord): void {
    if (old.waiters.length === 0) return;
    const now = Date.now();
    for (const w of old.waiters) {
      if (next.waiters.some((x) => x.id === w.id) || next.holders.some((x) => x.id === w.id)) continue;
      this.departed.set(`${old.key}\u0001${w.id}`, { since: w.since ?? old.observedAt, source: w.sinceSource ?? "first-seen", at: now });
    }
    if (this.departed.size > 1_000) for (const [k, d] of this.departed) if (now - d.at > this.opts.departedGraceMs) this.departed.delete(k);
  }

  /** A waiter that left this queue within the grace period and is back (a queue reorder). */
  private returning(key: string, id: string): { since: string; sinceSource: SinceSource } | undefined {
    const d = this.departed.get(`${key}\u0001${id}`);
    if (!d) return undefined;
    this.departed.delete(`${key}\u0001${id}`);
    return Date.now() - d.at <= this.opts.departedGraceMs ? { since: d.since, sinceSource: d.source } : undefined;
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
    for (const key of this.anon.keys()) if (this.records.get(key)?.state !== "held") this.anon.delete(key);
  }

  /** Polls the counts of waiters the store does not name, and publishes the locks whose count changed. */
  private async probeWaiters(): Promise<void> {
    if (this.status !== "ok" || !this.adapter.anonymousWaiters) return;
    const held: LockRecord[] = [];
    for (const r of this.records.values()) {
      if (r.state === "held") held.push(r);
      if (held.length >= MAX_WAITER_PROBES) break;
    }
    let counts: Map<string, { count: number; source: string }>;
    try {
      counts = await this.adapter.anonymousWaiters(held, AbortSignal.any([this.stopped.signal, AbortSignal.timeout(this.opts.waitersIntervalMs * 2)]));
    } catch {
      return; // a failed probe changes nothing; the next one tries again
    }
    const nowIso = new Date().toISOString();
    let changed = false;
    for (const r of held) {
      const c = counts.get(r.key);
      const before = this.anon.get(r.key);
      const next = c && c.count > 0 ? { count: c.count, source: c.source, since: before?.since ?? nowIso } : undefined;
      if (before?.count === next?.count && before?.source === next?.source) continue;
      if (next) this.anon.set(r.key, next);
      else this.anon.delete(r.key);
      const cur = this.records.get(r.key);
      if (!cur) continue;
      const rec: LockRecord = { ...cur, anonymousWaiters: next };
      this.records.set(r.key, rec);
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
    // A store that answers, only slowly, is "degraded: slow" (with its data's age), not down:
    // its last answer was slow, and nothing has failed outright since (a check that timed out
    // but whose answer may still come does not count; if that answer never comes, it does).
    const slowMs = this.slowMs();
    const slow = slowMs !== null && (this.status === "ok" || this.lastRead!.at >= this.hardFailureAt);
    // Reads that still work do not make a store that says it is degraded healthy.
    const note = this.status === "ok" ? this.healthNote : null;
    return {
      connection: this.id,
      status: slow || note ? "degraded" : this.status,
      message: slow
        ? `slow: the store took ${(slowMs / 1000).toFixed(1)} s to answer its last read${this.status === "ok" ? (note ? `; ${note}` : "") : `, and ${this.message}`}`
        : (note ?? this.message),
      mode: mode.mode,
      feed: mode.feed,
      pollIntervalMs: mode.intervalMs,
      ...this.freshness(),
      lockCount: this.records.size,
      observedAt: this.observedAt,
      consistency: this.consistency,
      server: this.server,
      snapshotMs: this.snapshotMs,
      slowMs,
      reads: { ...this.reads.stats(), max: this.reads.maxInFlight, deadlineMs: this.reads.deadlineMs },
    };
  }

  /** How current the view is: the one place every age and the staleness are computed. */
  freshness(now = Date.now()): Freshness {
    const stale = this.isStale(now);
    const age = this.confirmedAt === null ? null : Math.max(0, now - this.confirmedAt);
    return {
      now: new Date(now).toISOString(),
      confirmedAt: this.confirmedAt === null ? null : new Date(this.confirmedAt).toISOString(),
      confirmedBy: this.confirmedBy,
      confirmedAgeMs: age,
      stale,
      staleAgeMs: stale ? age : null,
      outageSince: this.status === "ok" || this.outageSince === null ? null : new Date(this.outageSince).toISOString(),
    };
  }

  /**
   * Stale = the view may not match the store: unreachable, never read, or not confirmed for
   * too long (polling: 3 intervals; live: 3 health checks, at least 10 s).
   */
  isStale(now = Date.now()): boolean {
    if (this.status !== "ok" || this.confirmedAt === null) return true;
    const mode = this.adapter.updateMode();
    const limit = mode.mode === "polling" ? 3 * (mode.intervalMs ?? 5_000) : Math.max(3 * this.opts.healthIntervalMs, 10_000);
    return now - this.confirmedAt > limit;
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

  /** One point of the overview's trend: locks with waiters, waiters (named + anonymous), locks. */
  sample(): { connection: string; contended: number; waiters: number; locks: number; stale: boolean } {
    let waiters = 0;
    let contended = 0;
    for (const r of this.records.values()) {
      const n = r.waiters.length + (r.anonymousWaiters?.count ?? 0);
      waiters += n;
      if (n > 0) contended++;
    }
    return { connection: this.id, contended, waiters, locks: this.records.size, stale: this.isStale() };
  }

  formats(): string[] {
    return [...new Set([...this.records.values()].map((r) => r.format))].sort();
  }

  currentProblems(): Problem[] {
    return this.problems;
  }
}
