// Pure derivation of lock life events from successive views of one lock. The recorder keeps a
// Memo per (connection, key) and feeds each hub change through derive(); nothing here reads a
// clock or does I/O, so the rules are tested with plain values (derive.test.ts).
//
// Contract:
//   - holders and waiters are matched by id between the previous and the next view;
//   - a new holder whose id was a waiter (memory store, Redisson) waited from that waiter's
//     `since`; else, if waiters left in the same change, the front-most one is taken as it;
//   - an ended holding is "expired" when it ends at/after the last expiry seen for it (minus
//     the resolution), else "released" — renewals that do not change the record are only seen
//     through refreshExpiry(), which the recorder calls from the hub's current records;
//   - before a connection's first snapshot is complete ("baseline"), holders are "seen", not
//     acquired: a restart must not count every held lock as a fresh acquisition.

import type { LockRecord } from "../model";
import type { LifeEvent } from "./types";

export interface MemoEntry {
  id: string;
  owner?: string;
  since: number;
}

export interface Memo {
  holders: MemoEntry[];
  waiters: MemoEntry[];
  /** Last known expiry of the lock (ms), null = never expires / unknown. */
  expiresAt: number | null;
}

export interface DeriveContext {
  connection: string;
  key: string;
  /** When the change was observed (ms). */
  at: number;
  resMs: number;
  baseline: boolean;
}

const parse = (iso: string | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
};

export function expiryOf(rec: LockRecord): number | null {
  const seen = parse(rec.observedAt);
  return rec.ttlMs === null || seen === null ? null : seen + rec.ttlMs;
}

/** The memo for a record as it is now (no events). */
export function memoOf(rec: LockRecord, at: number): Memo {
  return {
    holders: rec.holders.map((h) => ({ id: h.id, owner: h.owner, since: Math.min(at, (!h.sinceObserved && parse(h.since)) || at) })),
    waiters: rec.waiters.map((w) => ({ id: w.id, owner: w.owner, since: Math.min(at, parse(w.since) ?? at) })),
    expiresAt: expiryOf(rec),
  };
}

/** A renewal moved the expiry without a published change: keep the memo's expiry current. */
export function refreshExpiry(memo: Memo, rec: LockRecord): Memo {
  const e = expiryOf(rec);
  return e === memo.expiresAt ? memo : { ...memo, expiresAt: e };
}

/** Next memo (undefined when the lock is gone) and the life events between prev and rec. */
export function derive(prev: Memo | undefined, rec: LockRecord | null, ctx: DeriveContext): { memo: Memo | undefined; events: LifeEvent[] } {
  const { at } = ctx;
  const next = rec ? memoOf(rec, at) : undefined;
  const before: Memo = prev ?? { holders: [], waiters: [], expiresAt: null };
  const after: Memo = next ?? { holders: [], waiters: [], expiresAt: null };
  const depth = after.waiters.length;
  const base = { connection: ctx.connection, key: ctx.key, waiters: depth, resMs: ctx.resMs };
  const events: LifeEvent[] = [];

  if (ctx.baseline && !prev) {
    for (const h of after.holders) events.push({ ...base, at: h.since, kind: "seen", holder: h.id, owner: h.owner });
    return { memo: next, events };
  }

  const nextHolders = new Set(after.holders.map((h) => h.id));
  const prevHolders = new Set(before.holders.map((h) => h.id));
  const nextWaiters = new Set(after.waiters.map((w) => w.id));

  const ended = before.holders.filter((h) => !nextHolders.has(h.id));
  const started = after.holders.filter((h) => !prevHolders.has(h.id));
  // Waiters that left the queue; the ones that became holders are matched by id first.
  const leftWaiters = before.waiters.filter((w) => !nextWaiters.has(w.id));
  const unmatchedLeft = leftWaiters.filter((w) => !nextHolders.has(w.id));

  const slack = Math.max(ctx.resMs, 250);
  const expired = before.expiresAt !== null && at >= before.expiresAt - slack;
  for (const h of ended) {
    events.push({ ...base, at, kind: expired ? "expired" : "released", holder: h.id, owner: h.owner, holdMs: Math.max(0, at - h.since) });
  }

  for (const h of started) {
    let waitedFrom = before.waiters.find((w) => w.id === h.id)?.since;
    if (waitedFrom === undefined && unmatchedLeft.length > 0) waitedFrom = unmatchedLeft.shift()!.since;
    // A holding cannot start before the previous one ended as we saw it, nor after now.
    const start = Math.min(at, h.since);
    events.push({ ...base, at: start, kind: "acquired", holder: h.id, owner: h.owner, waitMs: waitedFrom === undefined ? 0 : Math.max(0, start - waitedFrom) });
  }

  if (ended.length > 0 && started.length > 0) {
    events.push({ ...base, at, kind: "handover", holder: started[0].id, owner: started[0].owner });
  }

  for (const w of after.waiters) {
    if (!before.waiters.some((p) => p.id === w.id)) events.push({ ...base, at: w.since, kind: "waiter-joined", holder: w.id, owner: w.owner });
  }
  for (const w of unmatchedLeft) {
    events.push({ ...base, at, kind: "waiter-left", holder: w.id, owner: w.owner, waitMs: Math.max(0, at - w.since) });
  }
  return { memo: next, events };
}
