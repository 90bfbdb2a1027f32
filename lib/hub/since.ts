// When each holder and waiter started ("since"), and where that time comes from (sinceSource),
// carried from the record a new one replaces. Owns the short memory of waiters that left a
// queue (key + id → their start), so a queue reorder that brings one back keeps its wait.
// Contract: fill() completes the fresh record it is given (from the adapter, not published yet)
// and only reads the old one. A record's own holders array (not frozen) and its waiters are
// filled in place. A FROZEN holders array may be shared with other records, and so may the
// holder objects in it (a Consul decode gives all of one session's locks one array): fill()
// never writes into those; the record gets holder copies that carry the start, and records
// whose holder and start are the same share one copy (and one array). A lone shared holder
// that is its old record's in all but the start (a later read of the same lock) keeps the old
// record's array: no copy per lock on every full read.

import type { Holder, LockRecord, SinceSource } from "../model";

export class StartTimes {
  /** Waiters that left a queue lately (key + id → their start), for a reorder that brings them back. */
  private departed = new Map<string, { since: string; source: SinceSource; at: number }>();

  /**
   * The copies fill() made of shared holders, by the shared holder, each alone in a frozen
   * array (the holders of a record it holds alone): one per holder (the last start decided in
   * a read for it, see copyOf), so a snapshot's 100k locks held by 100 sessions, all first seen
   * in it, get 100 copies.
   */
  private readonly copies = new WeakMap<Holder, Holder[]>();

  /** Per shared holder: the last old copy sameButStart() compared it with, and the answer. */
  private readonly compared = new WeakMap<Holder, { old: Holder; same: boolean }>();

  /** `departedGraceMs`: how long a departed waiter's first sighting is kept. */
  constructor(private readonly departedGraceMs: number) {}

  /**
   * Fills `since` and labels where it comes from (sinceSource), from `old`, the record `r`
   * replaces: the same holder or waiter keeps its start; a holder that was queued there took
   * over in this change, so its start is now (ZooKeeper's ctime is its queue join, not the
   * take-over) — unless the store records the acquisition itself (later than the join); a
   * waiter that left the queue moments ago and is back (a reorder) keeps its first sighting;
   * anything else new starts at the store's time where it records one, else at this read. A
   * record's own holders are filled in place (a copy per holder gave every holder object its
   * own hidden class in V8); a frozen, shared array is replaced (see the contract above).
   */
  fill(old: LockRecord | undefined, r: LockRecord): void {
    const shared = r.holders.length > 0 && Object.isFrozen(r.holders);
    // The same lone holder as the old record's in all but its start: the old array is exactly
    // what a copy would be (its start is the one carried), so it is kept, shared as it was.
    if (shared && r.holders.length === 1 && old?.holders.length === 1 && Object.isFrozen(old.holders) && this.sameButStart(r.holders[0], old.holders[0]))
      r.holders = old.holders;
    else this.fillHolders(old, r, shared);
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
  }

  private fillHolders(old: LockRecord | undefined, r: LockRecord, shared: boolean): void {
    let copied: Holder[] | null = null;
    for (let i = 0; i < r.holders.length; i++) {
      const h = r.holders[i];
      const carried = holderStart(old, r, h);
      if (!shared) {
        if (h.since !== start.since) h.since = start.since;
        if (h.sinceObserved !== start.observed) h.sinceObserved = start.observed;
        if (h.sinceSource !== start.source) h.sinceSource = start.source;
        continue;
      }
      if (hasStart(h)) continue;
      const alone = this.copyOf(h, !carried);
      if (r.holders.length === 1) r.holders = alone;
      else (copied ??= r.holders.slice())[i] = alone[0];
    }
    if (copied) r.holders = Object.freeze(copied) as unknown as Holder[];
  }

  /**
   * `h` (a shared holder) and `o` (an old record's copy) are the same holder with the same
   * details, liveness and all, whatever their starts. Both never change (the contract above),
   * so the answer for the last `o` compared with `h` is kept: the locks of one session then
   * cost one comparison, not one each.
   */
  private sameButStart(h: Holder, o: Holder): boolean {
    if (h.id !== o.id) return false;
    const m = this.compared.get(h);
    if (m?.old === o) return m.same;
    const same = sameExceptStart(h, o);
    this.compared.set(h, { old: o, same });
    return same;
  }

  /**
   * [the shared holder `h` with the start holderStart() just decided], frozen: the remembered
   * one when it has that start. `remember`: a start decided in this read (first seen, took
   * over, the store's), which the other locks this holder was first seen holding in the same
   * read share; a start carried from an old record is each lock's own and is not remembered.
   */
  private copyOf(h: Holder, remember: boolean): Holder[] {
    const c = this.copies.get(h);
    if (c && hasStart(c[0])) return c;
    const alone = Object.freeze([withStart(h)]) as unknown as Holder[];
    if (remember) this.copies.set(h, alone);
    return alone;
  }

  /**
   * The lock's record is gone (a Redisson fair lock between two holders, for a moment): its
   * waiters are remembered like any departure, so one queued again keeps its first sighting.
   */
  gone(old: LockRecord | undefined): void {
    if (old) this.noteDepartures(old, { ...old, holders: [], waiters: [] });
  }

  /** Waiters in `old` that are neither waiting nor holding in `next`: remembered for the grace period. */
  private noteDepartures(old: LockRecord, next: LockRecord): void {
    if (old.waiters.length === 0) return;
    const now = Date.now();
    for (const w of old.waiters) {
      if (next.waiters.some((x) => x.id === w.id) || next.holders.some((x) => x.id === w.id)) continue;
      this.departed.set(`${old.key}\u0001${w.id}`, { since: w.since ?? old.observedAt, source: w.sinceSource ?? "first-seen", at: now });
    }
    if (this.departed.size > 1_000) for (const [k, d] of this.departed) if (now - d.at > this.departedGraceMs) this.departed.delete(k);
  }

  /** A waiter that left this queue within the grace period and is back (a queue reorder). */
  private returning(key: string, id: string): { since: string; sinceSource: SinceSource } | undefined {
    const d = this.departed.get(`${key}\u0001${id}`);
    if (!d) return undefined;
    this.departed.delete(`${key}\u0001${id}`);
    return Date.now() - d.at <= this.departedGraceMs ? { since: d.since, sinceSource: d.source } : undefined;
  }
}

/** One holder's start as holderStart() decided it: reused, so deciding makes no object per holder. */
const start: { since: string | undefined; observed: boolean | undefined; source: SinceSource | undefined } = {
  since: undefined,
  observed: undefined,
  source: undefined,
};

/** `h` already carries the start holderStart() decided. */
function hasStart(h: Holder): boolean {
  return h.since === start.since && h.sinceObserved === start.observed && h.sinceSource === start.source;
}

/** Decides holder `h`'s start in `r` (see fill) into `start`; true when it is carried from `old`. */
function holderStart(old: LockRecord | undefined, r: LockRecord, h: Holder): boolean {
  const prev = old?.holders.find((x) => x.id === h.id);
  if (prev) {
    start.since = prev.since;
    start.observed = prev.sinceObserved;
    start.source = prev.sinceSource;
    return true;
  }
  const queued = old?.waiters.find((x) => x.id === h.id);
  if (queued && (!h.since || h.sinceObserved || !queued.since || Date.parse(h.since) <= Date.parse(queued.since))) {
    start.since = r.observedAt;
    start.observed = true;
    start.source = "became-holder";
  } else if (h.since) {
    start.since = h.since;
    start.observed = h.sinceObserved;
    start.source = h.sinceSource ?? (h.sinceObserved ? "first-seen" : "store");
  } else {
    start.since = r.observedAt;
    start.observed = true;
    start.source = "first-seen";
  }
  return false;
}

/**
 * A copy of `h` with the start in `start`. One literal naming every Holder field (the type
 * makes a new field fail to compile here until it is copied): a spread with the three start
 * fields added took ~2.5 µs a copy in V8 and gave objects 3× slower to read (100k locks
 * re-read: the hub's refresh 670 → 1,320 ms, docs/benchmarks.md). Fields `h` lacks are
 * undefined here (JSON leaves them out).
 */
function withStart(h: Holder): Holder {
  const copy: { [K in keyof Required<Holder>]: Holder[K] } = {
    id: h.id,
    owner: h.owner,
    ownerKey: h.ownerKey,
    liveness: h.liveness,
    ownerNote: h.ownerNote,
    since: start.since,
    sinceObserved: start.observed,
    sinceSource: start.source,
    reentrancy: h.reentrancy,
    expiresAt: h.expiresAt,
    lease: h.lease,
    session: h.session,
  };
  return copy;
}

const START_FIELDS = new Set<string>(["since", "sinceObserved", "sinceSource"] satisfies Array<keyof Holder>);

/** Every field but the start equal, deeply (plain data); a field that is undefined equals one that is missing. */
function sameExceptStart(a: Holder, b: Holder): boolean {
  return samePlain(a, b, START_FIELDS);
}

/** Plain data equal, deeply; an undefined member equals a missing one; `skip`: members of a and b not compared. */
function samePlain(a: unknown, b: unknown, skip?: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) if (!skip?.has(k) && !samePlain(x[k], y[k])) return false;
  return true;
}
