// Pure derivation of lock life events from successive views of one lock. The recorder keeps a
// Memo per (connection, key) and feeds each hub change through derive(); nothing here reads a
// clock or does I/O, so the rules are tested with plain values (derive.test.ts).
//
// Contract:
//   - holders and waiters are matched by id between the previous and the next view;
//   - a holding starts when it became the holder: the hub's `since` for a holder that was
//     queued is the moment it took over (sinceSource "became-holder"), never its join time;
//   - a new holder whose id was a waiter (memory store, Redisson, ZooKeeper) waited from that
//     waiter's `since`; else, if waiters left in the same change, the front-most one is taken;
//   - a waiter that leaves without holding is not a departure yet: it is kept as "departed" for
//     a grace period, and a waiter with the same id that comes back within it (a queue reorder,
//     e.g. Redisson's fair queue dropping a stale head that then re-queues at the tail) simply
//     keeps waiting from its first `since` — no waiter-left, no waiter-joined, no false long
//     wait. Departures older than the grace are emitted by expireDeparted() (at their time);
//   - waiters the store only counts (anonymousWaiters) are memo entries "~anonymous:…" with a
//     per-slot since: when the count drops the oldest are taken as the ones that left;
//   - an ended holding is "expired" when it ends at/after the last expiry seen for it (minus
//     the resolution), or when the store last showed its holder's client gone or failing
//     (liveness "dead": a ZooKeeper session whose client left every server or went silent, a
//     Consul session with a failing check — its end is the store's doing: cause "holder-gone"),
//     or when the record says its session ended in the change that let it go (rec.ended, Consul:
//     cause "session-ended"),
//     else "released" — renewals that do not change the record are only seen through
//     refreshExpiry(), which the recorder calls from the hub's current records; an etcd lease
//     the store shows renewed has no expiry here (expiryOf): its end is a release;
//   - across a gap (the store was unreachable, ctx.gap), a holding that vanished is "lost" at
//     the gap's start: it ended somewhere in the gap, how is unknown (cause: its TTL ran out —
//     only when the store's last TTL reading was a deadline that passed —, its session is gone,
//     or "unknown"); a waiter that vanished left at the gap's start;
//   - before a connection's first snapshot is complete ("baseline"), holders are "seen", not
//     acquired: a restart must not count every held lock as a fresh acquisition.

import type { LockRecord } from "../model";
import type { LifeEvent, LifeKind } from "./types";

export interface MemoEntry {
  id: string;
  owner?: string;
  since: number;
  /** The holder's session or lease, to tell after a gap whether it still exists. */
  session?: string;
  /** The store showed the holder's client gone or failing (liveness "dead") when last read. */
  gone?: boolean;
}

export interface Departed extends MemoEntry {
  leftAt: number;
  resMs: number;
}

export interface Memo {
  holders: MemoEntry[];
  waiters: MemoEntry[];
  /** Last known expiry of the lock (ms), null = never expires / unknown. */
  expiresAt: number | null;
  /** The record expiresAt was read from: refreshExpiry skips a record it has seen (most, every second). */
  expiryBasis?: LockRecord;
  /** Waiters that left without holding, not yet reported (see expireDeparted). */
  departed?: Departed[];
}

export interface DeriveContext {
  connection: string;
  key: string;
  /** When the change was observed (ms). */
  at: number;
  resMs: number;
  baseline: boolean;
  /** The change closes a gap in which the store could not be seen. */
  gap?: { from: number; liveSessions?: ReadonlySet<string> };
}

/** How long a departed waiter may come back and keep its wait (a queue reorder): Redisson's fair-lock
 *  waiters re-poll at least every lockWatchdogTimeout (30 s by default), and re-queue then. */
export const DEPARTED_GRACE_MS = 45_000;

const ANON = "~anonymous:";
export const isAnonymous = (id: string) => id.startsWith(ANON);

const parse = (iso: string | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
};

// Events and memos are made whole by the literals below, every field in one order. A spread that
// adds fields (`{ ...base, at, kind }`) or a `delete` turns the object into a dictionary of
// ~1.7 KB instead of ~100 bytes (measured, Node 20): a first snapshot of 100k locks holds 100k
// events until they are written, and memos live as long as their lock.

function lifeEvent(
  ctx: Pick<DeriveContext, "connection" | "key" | "resMs">,
  kind: LifeKind,
  at: number,
  waiters: number,
  who: { id: string; owner?: string },
  more: { holdMs?: number; waitMs?: number; cause?: string } = {},
): LifeEvent {
  return {
    at,
    connection: ctx.connection,
    key: ctx.key,
    kind,
    holder: who.id,
    owner: who.owner,
    holdMs: more.holdMs,
    waitMs: more.waitMs,
    waiters,
    resMs: ctx.resMs,
    cause: more.cause,
  };
}

/** Every memo is made here: one holder, no waiters, no departures (nearly every lock) gives a SoloMemo. */
function makeMemo(holders: MemoEntry[], waiters: MemoEntry[], expiresAt: number | null, expiryBasis?: LockRecord, departed?: Departed[]): Memo {
  if (holders.length === 1 && waiters.length === 0 && !departed) {
    const h = holders[0];
    return new SoloMemo(h.id, h.owner, h.since, h.session, h.gone, expiresAt, expiryBasis);
  }
  return { holders, waiters, expiresAt, expiryBasis, departed };
}

const NO_ENTRIES: MemoEntry[] = [];

/**
 * The memo of a lock with one holder and nobody waiting: the memo and its holder's entry in one
 * object (~100 bytes instead of ~210 for a memo, a list and an entry; memos live as long as
 * their lock). It reads as a Memo whose one holder is itself. The list is made on each read of
 * `holders`, which only derive and refreshExpiry do, once per change of the lock.
 */
class SoloMemo implements Memo, MemoEntry {
  constructor(
    readonly id: string,
    readonly owner: string | undefined,
    readonly since: number,
    readonly session: string | undefined,
    readonly gone: boolean | undefined,
    readonly expiresAt: number | null,
    readonly expiryBasis: LockRecord | undefined,
  ) {}

  get holders(): MemoEntry[] {
    return [this];
  }

  get waiters(): MemoEntry[] {
    return NO_ENTRIES;
  }

  get departed(): undefined {
    return undefined;
  }
}

/** `list.map(fn)`, except that an empty list gives the shared NO_ENTRIES (memos never mutate their lists). */
function mapOrShare(list: MemoEntry[], fn: (e: MemoEntry) => MemoEntry): MemoEntry[] {
  return list.length === 0 ? NO_ENTRIES : list.map(fn);
}

/**
 * When the lock ends on its own as the store last told it, or null when nothing says it will.
 * An etcd lease (a holder with `lease`) that the store's readings show renewed is no deadline:
 * keep-alives move its TTL without changing the record, so the TTL of the last read goes stale
 * within a keep-alive interval, and a holding that outlived it and then ended was released by
 * its holder, not run out (audit F2). It becomes one when the lease monitor's TTL readings show
 * nobody renews it ("not-renewed": the TTL only fell past a keep-alive due; a change to the
 * record, so it comes with a fresh TTL) or it ran out ("lease-expired").
 */
export function expiryOf(rec: LockRecord): number | null {
  const seen = parse(rec.observedAt);
  if (rec.ttlMs === null || seen === null) return null;
  if (rec.holders.some((h) => h.lease) && !rec.warnings.includes("not-renewed") && !rec.warnings.includes("lease-expired")) return null;
  return seen + rec.ttlMs;
}

/** The memo for a record as it is now (no events). Anonymous waiters all carry the count's since. */
export function memoOf(rec: LockRecord, at: number): Memo {
  const anon = rec.anonymousWaiters;
  const anonSince = Math.min(at, parse(anon?.since) ?? at);
  const waiters: MemoEntry[] = rec.waiters.map((w) => ({ id: w.id, owner: w.owner, since: Math.min(at, parse(w.since) ?? at), session: undefined }));
  for (let i = 0; i < (anon?.count ?? 0); i++) waiters.push({ id: `${ANON}${anonSince}:${i}`, owner: "not identified", since: anonSince, session: undefined });
  return makeMemo(
    rec.holders.map((h) => ({
      id: h.id,
      owner: h.owner,
      since: Math.min(at, (!h.sinceObserved && parse(h.since)) || at),
      session: h.session?.id ?? h.lease?.id,
      gone: h.liveness?.state === "dead" || undefined,
    })),
    waiters.length ? waiters : NO_ENTRIES,
    expiryOf(rec),
    rec,
  );
}

/**
 * Anonymous slots carry over from the previous memo: when the count grows the new ones start
 * now (or at the count's first sighting if there were none), when it drops the oldest leave.
 */
function carryAnonymous(before: Memo, after: Memo, at: number): Memo {
  const prev = before.waiters.filter((w) => isAnonymous(w.id));
  const next = after.waiters.filter((w) => isAnonymous(w.id));
  if (prev.length === 0) return after;
  const named = after.waiters.filter((w) => !isAnonymous(w.id));
  let slots: MemoEntry[];
  if (next.length <= prev.length) slots = prev.slice(prev.length - next.length);
  else slots = [...prev, ...next.slice(prev.length).map((w, i) => ({ ...w, id: `${ANON}${at}:${prev.length + i}`, since: at }))];
  return makeMemo(after.holders, [...named, ...slots], after.expiresAt, after.expiryBasis, after.departed);
}

/** A renewal moved the expiry without a published change: keep the memo's expiry current. */
export function refreshExpiry(memo: Memo, rec: LockRecord): Memo {
  return rec === memo.expiryBasis ? memo : makeMemo(memo.holders, memo.waiters, expiryOf(rec), rec, memo.departed);
}

/**
 * The memo with holder `id`'s holding started at `since` when that is earlier than the start it
 * has: the start the previous process recorded for a holding that is still there after a
 * restart (the record's own start, where the store keeps none, is the first sighting after it).
 */
export function withHolderSince(memo: Memo, id: string, since: number): Memo {
  if (!memo.holders.some((h) => h.id === id && since < h.since)) return memo;
  const holders = memo.holders.map((h) => (h.id === id && since < h.since ? { id: h.id, owner: h.owner, since, session: h.session, gone: h.gone } : h));
  return makeMemo(holders, memo.waiters, memo.expiresAt, memo.expiryBasis, memo.departed);
}

/** Departures older than the grace period become waiter-left events (at the time they left). */
export function expireDeparted(
  memo: Memo,
  ctx: Pick<DeriveContext, "connection" | "key">,
  now: number,
  graceMs = DEPARTED_GRACE_MS,
): { memo: Memo; events: LifeEvent[] } {
  const gone = (memo.departed ?? []).filter((d) => now - d.leftAt >= graceMs);
  if (gone.length === 0) return { memo, events: [] };
  const events = gone.map((d) =>
    lifeEvent({ connection: ctx.connection, key: ctx.key, resMs: d.resMs }, "waiter-left", d.leftAt, memo.waiters.length, d, {
      waitMs: Math.max(0, d.leftAt - d.since),
    }),
  );
  const rest = (memo.departed ?? []).filter((d) => now - d.leftAt < graceMs);
  return { memo: makeMemo(memo.holders, memo.waiters, memo.expiresAt, memo.expiryBasis, rest.length ? rest : undefined), events };
}

/** True when a memo is only kept for pending departures (the lock itself is gone). */
export function onlyDepartures(memo: Memo): boolean {
  return memo.holders.length === 0 && memo.waiters.length === 0 && (memo.departed?.length ?? 0) > 0;
}

/** Next memo (undefined when the lock is gone) and the life events between prev and rec. */
export function derive(prev: Memo | undefined, rec: LockRecord | null, ctx: DeriveContext): { memo: Memo | undefined; events: LifeEvent[] } {
  const { at } = ctx;
  const before: Memo = prev ?? makeMemo(NO_ENTRIES, NO_ENTRIES, null);
  let after: Memo = rec ? carryAnonymous(before, memoOf(rec, at), at) : makeMemo(NO_ENTRIES, NO_ENTRIES, null);
  const events: LifeEvent[] = [];

  if (ctx.baseline && !prev) {
    for (const h of after.holders) events.push(lifeEvent(ctx, "seen", h.since, after.waiters.length, h));
    return { memo: rec ? after : undefined, events };
  }

  // A waiter that departed a moment ago and is queued again: a reorder, it keeps its wait. One
  // still queued keeps the start it has here, whatever the record says: a record may give a
  // later one (the console's first sighting after the lock vanished for a moment), and a wait
  // that never ended does not start again.
  const departed = new Map((before.departed ?? []).map((d) => [d.id, d]));
  const queued = new Map(before.waiters.map((w) => [w.id, w]));
  const returned = new Map<string, Departed>();
  after = makeMemo(
    after.holders,
    // Most locks have no waiters: their memos share one empty list (100k memos, 100k arrays).
    mapOrShare(after.waiters, (w) => {
      if (isAnonymous(w.id)) return w;
      const q = queued.get(w.id);
      if (q) return q.since < w.since ? { ...w, since: q.since } : w;
      const d = departed.get(w.id);
      if (!d) return w;
      returned.set(w.id, d);
      return { ...w, since: d.since };
    }),
    after.expiresAt,
    after.expiryBasis,
  );
  const depth = after.waiters.length;

  const nextHolders = new Set(after.holders.map((h) => h.id));
  const prevHolders = new Set(before.holders.map((h) => h.id));
  const nextWaiters = new Set(after.waiters.map((w) => w.id));
  const prevWaiters = new Set(before.waiters.map((w) => w.id));

  const ended = before.holders.filter((h) => !nextHolders.has(h.id));
  const started = after.holders.filter((h) => !prevHolders.has(h.id));
  // Waiters that left the queue; the ones that became holders are matched by id first.
  const leftWaiters = before.waiters.filter((w) => !nextWaiters.has(w.id));
  const unmatchedLeft = leftWaiters.filter((w) => !nextHolders.has(w.id));

  const slack = Math.max(ctx.resMs, 250);
  const expired = before.expiresAt !== null && at >= before.expiresAt - slack;
  for (const h of ended) {
    if (ctx.gap) {
      const cause = expired ? "ttl-ran-out" : h.session && ctx.gap.liveSessions && !ctx.gap.liveSessions.has(h.session) ? "session-gone" : "unknown";
      events.push(lifeEvent(ctx, "lost", ctx.gap.from, depth, h, { holdMs: Math.max(0, ctx.gap.from - h.since), cause }));
    } else {
      // Not past its expiry: ended by the store all the same when its client was seen gone, or
      // its session ended in this very change (Consul); else its holder let go.
      const cause = expired ? undefined : h.gone ? "holder-gone" : h.session && rec?.ended?.some((e) => e.session === h.session) ? "session-ended" : undefined;
      events.push(lifeEvent(ctx, expired || cause ? "expired" : "released", at, depth, h, { holdMs: Math.max(0, at - h.since), cause }));
    }
  }

  for (const h of started) {
    let waitedFrom = before.waiters.find((w) => w.id === h.id)?.since ?? departed.get(h.id)?.since;
    if (waitedFrom === undefined && unmatchedLeft.length > 0) waitedFrom = unmatchedLeft.shift()!.since;
    // A holding cannot start before the previous one ended as we saw it, nor after now.
    const start = Math.min(at, h.since);
    if (departed.has(h.id)) departed.delete(h.id);
    events.push(lifeEvent(ctx, "acquired", start, depth, h, { waitMs: waitedFrom === undefined ? 0 : Math.max(0, start - waitedFrom) }));
  }

  if (ended.length > 0 && started.length > 0) {
    events.push(lifeEvent(ctx, "handover", at, depth, started[0]));
  }

  for (const w of after.waiters) {
    if (!prevWaiters.has(w.id) && !returned.has(w.id)) events.push(lifeEvent(ctx, "waiter-joined", w.since, depth, w));
  }

  // Departures: still pending ones (not back, not holding) plus the new ones.
  const pending: Departed[] = [...departed.values()].filter((d) => !returned.has(d.id));
  for (const w of unmatchedLeft) {
    if (ctx.gap) {
      events.push(lifeEvent(ctx, "waiter-left", ctx.gap.from, depth, w, { waitMs: Math.max(0, ctx.gap.from - w.since), cause: "gap" }));
    } else if (isAnonymous(w.id)) {
      // Anonymous slots have no identity to come back with: they leave now.
      events.push(lifeEvent(ctx, "waiter-left", at, depth, w, { waitMs: Math.max(0, at - w.since) }));
    } else {
      pending.push({ id: w.id, owner: w.owner, since: w.since, session: w.session, leftAt: at, resMs: ctx.resMs });
    }
  }
  if (!rec && pending.length === 0) return { memo: undefined, events };
  return { memo: makeMemo(after.holders, after.waiters, after.expiresAt, after.expiryBasis, pending.length ? pending : undefined), events };
}
