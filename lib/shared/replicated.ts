// A store adapter for a connection shared by several replicas (lib/shared/feed.ts). The hub is
// the same hub as ever; only where its reads come from depends on this replica's role:
//   - leader or solo: the store, through the connection's own adapter (a leader also publishes
//     what its hub sees);
//   - follower: the leader's published state (snapshot), change log (watch, woken by NOTIFY,
//     polled every second as a fallback) and records (reread); health, mode and consistency are
//     the leader's, and `server` names the replica that reads the store. Until the reader of
//     the current term has published its first read, a follower's snapshot waits for it (at
//     most FIRST_READ_WAIT_MS): a replica that starts beside the reader, or follows a new one,
//     does not report a failure (or serve the last term's records as current) meanwhile.
// A role change ends the current feed, so the hub takes a fresh snapshot from the new source
// and diffs it against what it holds: browsers see only what really changed.
// Everything else — releases, release plans, scope, fresh TTLs for a page, the Consul sessions
// and etcd leases pages — goes to the store from whichever replica serves the request: those
// are asked for by people, not repeated per replica, and the fence decides what a release does.

import type { Health, LockRecord, LockSnapshot, StoreAdapter, StoreChange } from "../model";
import type { EventBus } from "../hub/bus";
import { FeedPublisher, FeedReader, SILENT_MS, type FeedSession, type FeedSource, type FirstRead, type LeaderStatus, type Role } from "./feed";

const POLL_MS = 1_000;
/** How long snapshot() waits for the first election before reading the store itself. */
const FIRST_ROLE_MS = 3_000;
/** How long a follower's snapshot waits for the current reader's first published read. */
export const FIRST_READ_WAIT_MS = 10_000;

/** Why the reader's published view cannot be shown as current; `pending`: it has not published its first read of this term yet (wait for it). */
interface LeaderGap {
  problem: string;
  pending: boolean;
}

export class Replicated {
  role: Role = "solo";
  private epoch: number | null = null;
  private roleKnown: Promise<void>;
  private settleRole: () => void = () => {};
  /** Ends the current feed when the role changes. */
  private feedEnd = new AbortController();
  private publisher: FeedPublisher | null = null;
  private source: FeedSource | null = null;
  private leader: LeaderStatus | null = null;
  private readonly reader: FeedReader;
  readonly adapter: StoreAdapter;

  constructor(
    private readonly id: string,
    private readonly store: StoreAdapter,
    private readonly session: FeedSession,
    private readonly bus: EventBus,
  ) {
    this.reader = new FeedReader(session.db, id);
    this.roleKnown = new Promise((r) => (this.settleRole = r));
    this.adapter = this.proxy();
    session.join(id, (role, epoch) => this.onRole(role, epoch));
  }

  /** The hub that reads through this adapter (the publisher reads its records and status). */
  bind(source: FeedSource): void {
    this.source = source;
  }

  /** For /api/ready and the status line: this replica's part and who reads the store. */
  describe(): { role: Role; reader: string | null } {
    return { role: this.role, reader: this.role === "follower" ? (this.leader?.replica ?? null) : this.session.replica };
  }

  private onRole(role: Role, epoch: number | null): void {
    const was = this.role;
    this.role = role;
    this.epoch = epoch;
    this.settleRole();
    this.publisher?.stop();
    this.publisher = null;
    if (role === "leader" && this.source) {
      // Its whole state is published once the hub holds a read of the store of its own: at once
      // when it was reading the store already (solo), after the next snapshot when it followed.
      this.publisher = new FeedPublisher(
        this.session.db,
        this.id,
        epoch!,
        this.bus,
        this.source,
        () => this.firstRead(),
        () => this.session.demote(this.id),
      );
    }
    // Leader and solo both read the store: no new source, nothing to end.
    const reads = (r: Role) => (r === "follower" ? "feed" : "store");
    if (reads(was) !== reads(role)) {
      console.log(
        `lockdeck: ${this.id}: this replica is now ${role === "follower" ? "following the reading replica" : role === "leader" ? "the reading replica" : "reading the store itself (PostgreSQL unavailable)"}`,
      );
      this.feedEnd.abort();
    } else if (role === "leader" && was !== "leader") {
      console.log(`lockdeck: ${this.id}: this replica is now the reading replica`);
    }
  }

  private proxy(): StoreAdapter {
    const store = this.store;
    const own: Partial<StoreAdapter> = {
      updateMode: () => {
        if (this.role !== "follower") return store.updateMode();
        const s = this.leader?.published?.status;
        return { mode: s?.mode === "live" ? "live" : "polling", intervalMs: s?.pollIntervalMs ?? POLL_MS };
      },
      health: (signal) => (this.role === "follower" ? Promise.resolve(this.followerHealth()) : this.storeHealth(signal)),
      relayed: () => (this.role === "follower" ? { confirmedAt: this.readerConfirmedAt() } : undefined),
      snapshot: (signal) => this.snapshot(signal),
      reread: (keys, signal) => (this.role === "follower" ? this.followerReread(keys) : store.reread ? store.reread(keys, signal) : this.viaSnapshot(signal)),
      watch: (signal) => this.watch(signal),
      // A follower does not ask the store: the reader's records carry its counts.
      ...(store.anonymousWaiters && {
        anonymousWaiters: (locks: LockRecord[], signal: AbortSignal) =>
          this.role === "follower" ? Promise.resolve(null) : store.anonymousWaiters!(locks, signal),
      }),
      close: async () => {
        this.publisher?.stop();
        await this.session.leave(this.id);
        await store.close();
      },
    };
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        if (prop in own) return own[prop as keyof StoreAdapter];
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  private async snapshot(signal: AbortSignal): Promise<LockSnapshot> {
    await Promise.race([this.roleKnown, new Promise((r) => setTimeout(r, FIRST_ROLE_MS))]);
    if (this.role === "follower") return this.followerSnapshot(signal);
    try {
      const snap = await this.store.snapshot(signal);
      // The status event that follows this snapshot schedules the publisher's next write.
      this.lastFrom = "store";
      this.storeFailed = false;
      return snap;
    } catch (err) {
      this.storeFailed = true;
      throw err;
    }
  }

  /** The published state; while the reader has not published its first read of this term, waits for it (bounded). */
  private async followerSnapshot(signal: AbortSignal): Promise<LockSnapshot> {
    const until = Date.now() + FIRST_READ_WAIT_MS;
    for (;;) {
      this.leader = await this.reader.status();
      this.lastFrom = "feed";
      const gap = this.leaderGap();
      if (!gap) {
        // Read after the status: these records are at least as new as the status that vouches for them.
        const state = await this.reader.state();
        this.seq = state.seq;
        const p = this.leader!.published!;
        return {
          locks: state.records,
          problems: p.problems,
          observedAt: p.status.observedAt ?? new Date(p.at).toISOString(),
          consistency: p.status.consistency,
        };
      }
      if (!gap.pending || Date.now() >= until || signal.aborted) throw new Error(gap.problem);
      await this.published(until, signal);
      // Elected meanwhile: this replica reads the store itself now.
      if (this.role !== "follower") return this.snapshot(signal);
    }
  }

  /** Resolves at the leader's next publish (its NOTIFY), after a poll interval, at `until`, or on abort. */
  private published(until: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(POLL_MS, until - Date.now())));
      const off = this.session.onChange(this.id, done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** The store's own health check; a failed one counts as a failed read for the publisher (its followers learn of it). */
  private async storeHealth(signal: AbortSignal): Promise<Health> {
    const h = await this.store.health(signal);
    if (h.status === "unreachable") this.storeFailed = true;
    return h;
  }

  /** For the publisher: has this replica read the store itself in this term, or has a read or check of it failed? */
  private firstRead(): FirstRead {
    return this.lastFrom === "store" ? "read" : this.storeFailed ? "failed" : "pending";
  }

  /** Records the current follower poll brought, for the reread that follows its yield. */
  private prefetched: { keys: Set<string>; records: Map<string, LockRecord> } | null = null;
  /** The reader's last published read time, while it polls. */
  private leaderObservedAt: string | null = null;
  /** The last change of the leader's log this replica has applied. */
  private seq = 0;
  /** Where the hub's last snapshot came from: a feed must start from a snapshot of its own source. */
  private lastFrom: "store" | "feed" | null = null;
  /** This replica's last own read (or health check) of the store failed: the publisher says so to followers. */
  private storeFailed = false;

  /**
   * Until when, on this replica's clock, the reader had confirmed the view it published (null:
   * not known): its status's age when written, plus how long ago that was by PostgreSQL's clock
   * — so neither replica's clock is compared with the other's.
   */
  private readerConfirmedAt(): number | null {
    const l = this.leader;
    const age = l?.published?.status.confirmedAgeMs;
    if (!l || age === null || age === undefined) return null;
    return l.asked - Math.max(0, l.dbNow - l.published!.at) - age;
  }

  /** Why the leader's view cannot be shown as current, or null. */
  private leaderGap(): LeaderGap | null {
    const l = this.leader;
    if (!l) return { problem: "no replica has read this store yet (the reading replica is being elected)", pending: true };
    // How long the reader has written nothing: by PostgreSQL's clock when last asked, and by this
    // replica's since (PostgreSQL may not have answered lately either).
    const silent = Math.max(0, l.dbNow - l.heartbeat) + (Date.now() - l.asked);
    if (silent > SILENT_MS)
      return {
        problem: `the replica reading this store (${l.replica}) has been silent for ${Math.round(silent / 1000)} s: this is the view it last published (another replica takes over when its PostgreSQL session ends; a frozen process keeps it)`,
        pending: false,
      };
    if (!l.published) return { problem: `the replica reading this store (${l.replica}) has not finished its first read of it yet`, pending: true };
    if (l.published.status.status === "unreachable") return { problem: `${l.published.status.message} (as read by ${l.replica})`, pending: false };
    return null;
  }

  /**
   * The reader's health. While a reader is still making its first read the view is not known to
   * be wrong, only not confirmed: "degraded" with the reason, so a view this replica already
   * holds ages into stale on its own clock, and one still starting stays "connecting".
   */
  private followerHealth(): Health {
    const gap = this.leaderGap();
    const published = this.leader?.published;
    const server = `${published?.status.server ?? ""}${this.leader ? ` · read by replica ${this.leader.replica}` : ""}`.replace(/^ · /, "");
    if (gap) return { status: gap.pending ? "degraded" : "unreachable", message: gap.problem, server };
    return { status: published!.status.status === "degraded" ? "degraded" : "ok", message: published!.status.message, server };
  }

  private async followerReread(keys: string[]) {
    const pre = this.prefetched;
    const locks =
      pre && keys.every((k) => pre.keys.has(k)) ? keys.map((k) => pre.records.get(k)).filter((r): r is LockRecord => !!r) : await this.reader.records(keys);
    const found = new Set(locks.map((l) => l.key));
    return { locks, gone: keys.filter((k) => !found.has(k)), problems: [] };
  }

  private async viaSnapshot(signal: AbortSignal) {
    const snap = await this.store.snapshot(signal);
    return { locks: snap.locks, gone: [], problems: snap.problems };
  }

  /** The store's own feed (leader, solo) or the leader's change log (follower), until the role changes. */
  private async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    const end = (this.feedEnd = new AbortController());
    const both = AbortSignal.any([signal, end.signal]);
    if (this.role !== "follower") {
      if (!this.store.watch) throw new Error("this store has no change feed");
      // The role changed between the snapshot and now: re-list from the store first.
      if (this.lastFrom !== "store") yield { keys: [], resync: true };
      try {
        for await (const change of this.store.watch(both)) yield change;
      } catch (err) {
        // Ended for a role change: not a failure of the store's feed.
        if (!end.signal.aborted || signal.aborted) throw err;
      }
      return;
    }
    // A feed starts from a snapshot of its own source. The hub took none before a feed that
    // reads its own first one (watchBeforeSnapshot: Redis) — after a failure, its re-list: it is
    // what marks the view good again.
    if (this.lastFrom !== "feed" || this.store.watchBeforeSnapshot) yield { keys: [], resync: true };
    let generation = this.session.generation;
    // A NOTIFY that arrives while a batch is being applied must not wait for the next poll.
    let woken = false;
    let wake: () => void = () => {};
    const off = this.session.onChange(this.id, () => {
      woken = true;
      wake();
    });
    both.addEventListener("abort", () => wake(), { once: true });
    try {
      while (!both.aborted) {
        woken = false;
        try {
          const { changes, records, leader } = await this.reader.poll(this.seq);
          this.leader = leader;
          // The LISTEN session was re-made: notifications may have been missed; start over.
          if (this.session.generation !== generation) {
            generation = this.session.generation;
            yield { keys: [], resync: true };
            continue;
          }
          // A polling reader publishes a new read every interval even when nothing changed:
          // take it too, so this view is as fresh as the reader's (and not marked stale).
          const status = leader?.published?.status;
          const observed = status?.mode === "live" ? null : (status?.observedAt ?? null);
          if (observed !== null && observed !== this.leaderObservedAt) {
            this.leaderObservedAt = observed;
            yield { keys: [], resync: true };
            continue;
          }
          let keys = new Set<string>();
          for (const c of changes) {
            this.seq = c.seq;
            if (c.resync) {
              keys = new Set();
              yield { keys: [], resync: true };
            } else for (const k of c.keys) keys.add(k);
          }
          // The hub's reread of these keys is answered from what this poll brought.
          this.prefetched = { keys, records: new Map(records.map((r) => [r.key, r])) };
          yield { keys: [...keys] };
          this.prefetched = null;
        } catch {
          // PostgreSQL down: the election turns this replica solo; until then, wait.
        }
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    } finally {
      off();
    }
  }
}
