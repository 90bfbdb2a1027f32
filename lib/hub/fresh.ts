// Remaining TTLs in a page of locks, fresh from the store (PTTL, lease TimeToLive) rather than
// from the snapshot: the browser shows the store's own number, never a countdown of ours.
//
// Every fresh reading is kept (per hub, by key, for the holding it was read for). When the
// store does not answer the next read (it fails or times out, or the connection is
// unreachable), each lock shows the NEWEST reading the store gave for its current holding —
// the last fresh one, or its record's own (snapshot / re-read), whichever is newer — with that
// reading's observedAt, and the answer says its TTLs were not re-read (TtlReads). Stale beats
// partial, and a TTL never goes up because the store stopped answering: the record's own TTL
// can be minutes older than the last fresh one shown.
//
// Bounded: a reading is dropped when its key's holding changes (a new holder never inherits
// the old holder's TTL) and, at the next sweep, when the hub no longer holds the key; at most
// MAX_READINGS are kept (the least recently read go first).

import type { LockRecord } from "../model";
import type { TtlReads } from "../api/types";
import type { Hub } from "./hub";

/** How often kept readings are checked against the hub's records (keys gone, holdings changed). */
const SWEEP_MS = 5_000;
/** At most this many readings per hub (100 pages of 200 rows). */
const MAX_READINGS = 20_000;

/** ttlSource values whose TTL the store reports and adapter.ttls() re-reads. */
const rereadable = (l: LockRecord) => l.ttlSource === "pttl" || l.ttlSource === "lease";

/**
 * One holding of a lock, as a string: the store's identity of it (LockRecord.holding, the one a
 * fence names and diff.ts compares), its holders (lease, session) and when each started. The
 * start (since.ts carries it only while the same holder stays) tells a holding that was
 * released and taken again with the same identity (a Redisson thread re-acquiring) from the
 * one read before.
 */
export function holdingOf(l: LockRecord): string {
  return JSON.stringify([l.state, l.holding, l.holders.map((h) => [h.id, h.lease?.id ?? null, h.session?.id ?? null, h.since ?? null])]);
}

interface Reading {
  holding: string;
  ttlMs: number | null;
  /** When the store reported it (ms since epoch). */
  at: number;
}

/** The last fresh TTL reading of each lock of one hub, kept for the holding it was read for. */
export class TtlReadings {
  private readonly byKey = new Map<string, Reading>();
  private sweptAt = 0;

  get size(): number {
    return this.byKey.size;
  }

  keep(lock: LockRecord, ttlMs: number | null, at: number): void {
    // Re-inserted: the map's order is the order of the last reading (the oldest go first).
    this.byKey.delete(lock.key);
    this.byKey.set(lock.key, { holding: holdingOf(lock), ttlMs, at });
  }

  /** `lock` with the newest TTL the store gave for its holding: the kept reading, or its own. */
  newest(lock: LockRecord): LockRecord {
    const r = this.byKey.get(lock.key);
    if (!r) return lock;
    if (r.holding !== holdingOf(lock)) {
      this.byKey.delete(lock.key); // another holding: that TTL was someone else's
      return lock;
    }
    if (r.at <= Date.parse(lock.observedAt)) return lock;
    return { ...lock, ttlMs: r.ttlMs, observedAt: new Date(r.at).toISOString() };
  }

  /** Drops the readings of keys `current` no longer has, or has with another holding; then the oldest beyond the cap. */
  sweep(current: (key: string) => LockRecord | undefined, now = Date.now()): void {
    if (now - this.sweptAt < SWEEP_MS && this.byKey.size <= MAX_READINGS) return;
    this.sweptAt = now;
    for (const [key, r] of this.byKey) {
      const rec = current(key);
      if (!rec || holdingOf(rec) !== r.holding) this.byKey.delete(key);
    }
    for (const key of this.byKey.keys()) {
      if (this.byKey.size <= MAX_READINGS) break;
      this.byKey.delete(key);
    }
  }
}

const readings = new WeakMap<Hub, TtlReadings>();

/** The TTL readings kept for a hub (made on first use). */
export function ttlReadingsOf(hub: Hub): TtlReadings {
  let r = readings.get(hub);
  if (!r) readings.set(hub, (r = new TtlReadings()));
  return r;
}

/**
 * The page's locks with their TTLs re-read from the store, and whether they were (ttls: null
 * when the page has no lock whose TTL the store reports, or the store has no TTL read).
 */
export async function freshTtls(hub: Hub, locks: LockRecord[]): Promise<{ locks: LockRecord[]; ttls: TtlReads | null }> {
  const ttls = hub.adapter.ttls;
  const wanted = locks.filter(rereadable);
  if (!ttls || wanted.length === 0) return { locks, ttls: null };
  const kept = ttlReadingsOf(hub);
  kept.sweep((key) => hub.get(key));
  const at = Date.now();
  let fresh: Map<string, number | null> | null = null;
  let error: string | undefined;
  if (!hub.reachable) error = "the store is unreachable";
  else {
    try {
      // Through the hub's read gate: capped in flight, answered by the deadline.
      const signal = AbortSignal.timeout(hub.reads.deadlineMs);
      fresh = await hub.reads.run(() =>
        ttls.call(
          hub.adapter,
          wanted.map((l) => l.key),
          signal,
        ),
      );
    } catch (err) {
      error = (err as Error).message || String(err);
    }
  }
  const observedAt = new Date(at).toISOString();
  let missing = 0;
  let oldest: string | null = null;
  const out = locks.map((l) => {
    if (!rereadable(l)) return l;
    if (fresh?.has(l.key)) {
      const ttlMs = fresh.get(l.key) ?? null;
      kept.keep(l, ttlMs, at);
      return { ...l, ttlMs, observedAt };
    }
    // Not re-read (the read failed, or its answer left this key out): the newest the store gave.
    missing++;
    const shown = kept.newest(l);
    if (oldest === null || Date.parse(shown.observedAt) < Date.parse(oldest)) oldest = shown.observedAt;
    return shown;
  });
  if (missing === 0) return { locks: out, ttls: { fresh: true, readAt: observedAt } };
  error ??= `the store's answer had no TTL for ${missing} of ${wanted.length} locks`;
  return { locks: out, ttls: { fresh: false, readAt: oldest, error } };
}

/** The page's locks with their TTLs re-read from the store (freshTtls without the answer's note). */
export async function withFreshTtls(hub: Hub, locks: LockRecord[]): Promise<LockRecord[]> {
  return (await freshTtls(hub, locks)).locks;
}
