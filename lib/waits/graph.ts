// The wait-for graph of one connection: who waits for whom, and which waits can never end.
//
// Nodes are owners (Holder/Waiter.ownerKey: a Redisson thread, an etcd lease, a ZooKeeper or
// Consul session, a memory-store owner). Each lock with identified waiters and holders gives
// edges waiter owner → holder owner, labelled by the lock. A strongly connected set of owners
// is a deadlock: every lock with an edge inside it carries the warning "deadlock".
//
// Semaphores are the exception to "a cycle is a deadlock": a waiter needs ANY one holder to let
// go, so it is only stuck when every holder is stuck too. Such owners are pruned from a
// strongly connected set when one of their semaphore's holders is outside it (that holder may
// still move), and the rest is split again. This can miss a deadlock whose way out runs into
// another deadlock; it never reports a wait that can still end.
//
// Incremental: update(key, record) changes only that lock's edges, and recomputes the strongly
// connected sets only from the owners it touched (and the members of deadlocks they were in),
// so an update costs the size of the waits reachable from those owners, not the connection's
// lock count. A lock without identified waiters before and after is not even that, and one
// without any identified holder or waiter (a plain Redis lock) is not kept at all. Pure: no
// I/O, no clocks.

import type { Holder, LockRecord } from "../model";

/** One wait: `waiter` waits for `lock`, which `holder` holds. */
export interface WaitEdge {
  lock: string;
  waiter: string;
  holder: string;
  /** When the waiter joined the queue (the record's waiter since), if known. */
  since?: string;
  /** The waiter's place in the lock's queue (1 = next). */
  position: number;
}

/** owners[i] waits for locks[i], which owners[i + 1] holds (the last one's lock is held by owners[0]). */
export interface Cycle {
  owners: string[];
  locks: string[];
}

/** What a person reads about an owner: taken from the newest holder or waiter entry naming it. */
export type OwnerParty = Pick<Holder, "id" | "owner" | "ownerNote" | "session" | "lease" | "liveness">;

interface LockEntry {
  key: string;
  name: string;
  /** A waiter needs any one holder to let go (semaphore permits), not all of them. */
  any: boolean;
  /** Distinct owner keys of the holders that have one (a one-owner list is shared: never edit). */
  holders: readonly string[];
  /** Waiters with an owner key, queue order. */
  waiters: Array<{ owner: string; since?: string; position: number }>;
  /** Warnings of the record (the dead-holder ones are read from here). */
  warnings: readonly string[];
}

/** Entries are never edited (replaced on update): the ones without waiters share this list. */
const NO_WAITERS: LockEntry["waiters"] = [];

interface Group {
  owners: Set<string>;
  locks: Set<string>;
}

const EMPTY = new Set<string>();

/** `oneOwner(o)` gives the shared `[o]` list: most locks have one holder owner (100k locks of 100 sessions, 100 lists). */
function entryOf(r: LockRecord, oneOwner: (o: string) => readonly string[]): LockEntry {
  const owners: string[] = [];
  for (const h of r.holders) if (h.ownerKey && !owners.includes(h.ownerKey)) owners.push(h.ownerKey);
  const holders = owners.length === 1 ? oneOwner(owners[0]) : owners;
  let waiters = NO_WAITERS;
  // An election's candidates are not blocked: the follower's client goes on (Curator LeaderLatch,
  // etcd Campaign in the background), so they are no waits. A waiter whose owner holds the same
  // lock waits on itself: another thread of that client (one ZooKeeper session, one etcd lease),
  // which can still let go — no wait another owner could end.
  if (r.kind !== "election")
    for (const w of r.waiters)
      if (w.ownerKey && !owners.includes(w.ownerKey))
        (waiters === NO_WAITERS ? (waiters = []) : waiters).push({ owner: w.ownerKey, since: w.since, position: w.position });
  const any = r.kind === "semaphore" && r.holders.length > 1;
  return { key: r.key, name: r.name, any, holders, waiters, warnings: r.warnings };
}

/** Equal holder and waiter owners and `any`: the same edges. */
function sameEdges(a: LockEntry, b: LockEntry): boolean {
  if (a.any !== b.any || a.holders.length !== b.holders.length || a.waiters.length !== b.waiters.length) return false;
  for (let i = 0; i < a.holders.length; i++) if (a.holders[i] !== b.holders[i]) return false;
  for (let i = 0; i < a.waiters.length; i++) if (a.waiters[i].owner !== b.waiters[i].owner) return false;
  return true;
}

/** An entry without holder or waiter owners has nothing the graph or its answers use: it is not kept. */
const isEmpty = (e: LockEntry) => e.holders.length === 0 && e.waiters.length === 0;

const hasEdges = (e: LockEntry | undefined) => !!e && e.holders.length > 0 && e.waiters.length > 0;
/** Marks every owner of the entry, holder or waiter, as touched by the change. */
function touch(e: LockEntry, touched: Set<string>): void {
  for (const h of e.holders) touched.add(h);
  for (const w of e.waiters) touched.add(w.owner);
}

/**
 * A contended lock that is not (wholly) in the graph because its holders or waiters carry no
 * identity, or the store only counts its waiters (Redisson's blocked clients: anonymousWaiters).
 */
function unidentified(r: LockRecord): boolean {
  if (r.kind === "election") return false;
  if ((r.anonymousWaiters?.count ?? 0) > 0) return true;
  return r.waiters.length > 0 && (r.waiters.some((w) => !w.ownerKey) || r.holders.some((h) => !h.ownerKey));
}

export class WaitGraph {
  private locks = new Map<string, LockEntry>();
  /** Keys of locks with at least one edge. */
  private edged = new Set<string>();
  private holds = new Map<string, Set<string>>();
  private waits = new Map<string, Set<string>>();
  /**
   * Per waiting owner, the owners it waits on, each with the number of its waits on them: the
   * graph's successor lists, kept with the edges. Walking an owner's waits instead made a
   * session queued in 10k locks cost 10k steps at every visit, on every update.
   */
  private next = new Map<string, Map<string, number>>();
  /** Per owner, the newest entry naming it; a holder entry (session, lease, liveness) wins over a waiter entry. */
  private parties = new Map<string, { p: OwnerParty; holder: boolean }>();
  private groupOf = new Map<string, number>();
  private groups = new Map<number, Group>();
  private deadBy = new Map<string, Set<number>>();
  private anonymous = new Set<string>();
  /** Per owner that holds a lock, its shared one-owner holder list (dropped when it holds nothing). */
  private ownerLists = new Map<string, readonly string[]>();
  private readonly oneOwner = (o: string): readonly string[] => {
    let list = this.ownerLists.get(o);
    if (!list) this.ownerLists.set(o, (list = Object.freeze([o])));
    return list;
  };
  private nextGroup = 1;
  /** Owners the strongly-connected search visited, in total (a cost counter for tests and the bench). */
  visited = 0;

  /**
   * The lock's new record (null: gone). Returns the keys of locks whose deadlock flag changed
   * (this one or others on a cycle that formed or broke).
   */
  update(key: string, rec: LockRecord | null): string[] {
    if (rec && unidentified(rec)) this.anonymous.add(key);
    else this.anonymous.delete(key);
    const old = this.locks.get(key);
    const next = rec ? entryOf(rec, this.oneOwner) : undefined;
    if (rec) this.remember(rec);
    if (old && next && sameEdges(old, next)) {
      // Same edges: only the queue times, the name or the warnings moved.
      this.locks.set(key, next);
      return [];
    }
    if (!old && next && isEmpty(next)) return []; // e.g. a plain Redis lock: no client identity
    const touched = new Set<string>();
    if (old) this.unlink(old, touched);
    if (next && !isEmpty(next)) {
      this.link(next, touched);
      this.locks.set(key, next);
    } else this.locks.delete(key);
    for (const o of touched) this.forgetIfAbsent(o);
    if (!hasEdges(old) && !hasEdges(next)) return [];

    const before = new Map<string, boolean>();
    const mark = (l: string) => {
      if (!before.has(l)) before.set(l, this.isDeadlocked(l));
    };
    mark(key);
    const start = new Set(touched);
    for (const o of touched) {
      const g = this.groupOf.get(o);
      if (g !== undefined) this.dropGroup(g, start, mark);
    }
    for (const scc of this.components(start, null)) {
      if (![...scc].some((o) => start.has(o))) continue; // untouched: unchanged
      // A deadlock inside this set that none of the touched owners was in (they were pruned
      // from it) is found again below: drop it first.
      for (const o of scc) {
        const g = this.groupOf.get(o);
        if (g !== undefined) this.dropGroup(g, start, mark);
      }
      for (const g of this.prune(scc)) this.addGroup(g, mark);
    }
    const changed: string[] = [];
    for (const [l, was] of before) if (this.isDeadlocked(l) !== was) changed.push(l);
    return changed;
  }

  isDeadlocked(key: string): boolean {
    return (this.deadBy.get(key)?.size ?? 0) > 0;
  }

  deadlockedLocks(): string[] {
    return [...this.deadBy.keys()];
  }

  /** Every wait, locks on a cycle first; at most `limit`. */
  edges(limit = Infinity): { edges: WaitEdge[]; total: number } {
    const out: WaitEdge[] = [];
    let total = 0;
    const push = (e: LockEntry) => {
      for (const w of e.waiters) {
        for (const h of e.holders) {
          total++;
          if (out.length < limit) out.push({ lock: e.key, waiter: w.owner, holder: h, since: w.since, position: w.position });
        }
      }
    };
    for (const k of this.deadBy.keys()) push(this.locks.get(k)!);
    for (const k of this.edged) if (!this.deadBy.has(k)) push(this.locks.get(k)!);
    return { edges: out, total };
  }

  /**
   * The deadlocks as cycles: per strongly connected group, elementary cycles that together use
   * every wait inside it (each wait closed by a shortest way back), at most `perGroup` each.
   */
  cycles(perGroup = 50): Cycle[] {
    const out: Cycle[] = [];
    for (const g of this.groups.values()) {
      const inner: Array<[string, string, string]> = [];
      for (const o of g.owners) {
        for (const l of this.waits.get(o) ?? EMPTY) {
          if (!g.locks.has(l)) continue;
          for (const h of this.locks.get(l)!.holders) if (g.owners.has(h)) inner.push([o, l, h]);
        }
      }
      const used = new Set<string>();
      const seen = new Set<string>();
      for (const [o, l, h] of inner) {
        if (used.has(`${o}\u0000${l}\u0000${h}`)) continue;
        if (seen.size >= perGroup) break;
        const back = this.pathWithin(g.owners, h, o);
        if (!back) continue;
        const steps: Array<[string, string, string]> = [[o, l, h], ...back];
        for (const [a, b, c] of steps) used.add(`${a}\u0000${b}\u0000${c}`);
        const cycle = canonical(steps);
        const id = `${cycle.owners.join("\u0001")}\u0000${cycle.locks.join("\u0001")}`;
        if (!seen.has(id)) {
          seen.add(id);
          out.push(cycle);
        }
      }
    }
    return out;
  }

  /** Owners on some deadlock. */
  deadlockedOwners(): Set<string> {
    return new Set(this.groupOf.keys());
  }

  /** Contended locks whose holders or waiters carry no client identity (not in the graph). */
  unidentifiedCount(): number {
    return this.anonymous.size;
  }

  party(owner: string): OwnerParty | undefined {
    return this.parties.get(owner)?.p;
  }

  /** Locks the owner holds (keys), and the locks it waits for. */
  holdsOf(owner: string): ReadonlySet<string> {
    return this.holds.get(owner) ?? EMPTY;
  }

  waitsOf(owner: string): ReadonlySet<string> {
    return this.waits.get(owner) ?? EMPTY;
  }

  lock(key: string):
    | {
        key: string;
        name: string;
        holders: readonly string[];
        waiters: ReadonlyArray<{ owner: string; since?: string; position: number }>;
        warnings: readonly string[];
      }
    | undefined {
    return this.locks.get(key);
  }

  owners(): IterableIterator<string> {
    return this.parties.keys();
  }

  // ---- internals -----------------------------------------------------------------------------

  private remember(r: LockRecord): void {
    for (const w of r.waiters) {
      if (w.ownerKey && !this.parties.get(w.ownerKey)?.holder) this.parties.set(w.ownerKey, { p: w, holder: false });
    }
    for (const h of r.holders) if (h.ownerKey) this.parties.set(h.ownerKey, { p: h, holder: true });
  }

  private link(e: LockEntry, touched: Set<string>): void {
    for (const h of e.holders) add(this.holds, h, e.key);
    for (const w of e.waiters) {
      add(this.waits, w.owner, e.key);
      if (e.holders.length === 0) continue;
      let to = this.next.get(w.owner);
      if (!to) this.next.set(w.owner, (to = new Map()));
      for (const h of e.holders) to.set(h, (to.get(h) ?? 0) + 1);
    }
    touch(e, touched);
    if (hasEdges(e)) this.edged.add(e.key);
  }

  private unlink(e: LockEntry, touched: Set<string>): void {
    for (const h of e.holders) remove(this.holds, h, e.key);
    for (const w of e.waiters) {
      remove(this.waits, w.owner, e.key);
      const to = this.next.get(w.owner);
      if (!to) continue;
      for (const h of e.holders) {
        const n = to.get(h)! - 1;
        if (n > 0) to.set(h, n);
        else to.delete(h);
      }
      if (to.size === 0) this.next.delete(w.owner);
    }
    touch(e, touched);
    this.edged.delete(e.key);
  }

  private forgetIfAbsent(o: string): void {
    if (this.holds.has(o)) return;
    this.ownerLists.delete(o);
    if (!this.waits.has(o)) this.parties.delete(o);
    else {
      // Holds nothing any more: what a holder entry said (liveness) no longer applies.
      const e = this.parties.get(o);
      if (e?.holder) this.parties.set(o, { p: { id: e.p.id, owner: e.p.owner, ownerNote: e.p.ownerNote }, holder: false });
    }
  }

  /** Owners o waits on: the holders of every lock it waits for. */
  private successors(o: string): string[] {
    const to = this.next.get(o);
    return to ? [...to.keys()] : [];
  }

  private dropGroup(id: number, start: Set<string>, mark: (l: string) => void): void {
    const g = this.groups.get(id)!;
    this.groups.delete(id);
    for (const o of g.owners) {
      start.add(o);
      this.groupOf.delete(o);
    }
    for (const l of g.locks) {
      mark(l);
      const by = this.deadBy.get(l)!;
      by.delete(id);
      if (by.size === 0) this.deadBy.delete(l);
    }
  }

  private addGroup(owners: Set<string>, mark: (l: string) => void): void {
    const id = this.nextGroup++;
    const locks = new Set<string>();
    for (const o of owners) {
      this.groupOf.set(o, id);
      for (const l of this.waits.get(o) ?? EMPTY) if (this.locks.get(l)!.holders.some((h) => owners.has(h))) locks.add(l);
    }
    for (const l of locks) {
      mark(l);
      let by = this.deadBy.get(l);
      if (!by) this.deadBy.set(l, (by = new Set()));
      by.add(id);
    }
    this.groups.set(id, { owners, locks });
  }

  /**
   * Strongly connected sets with a cycle (more than one owner, or one waiting for itself) among
   * the owners reachable from `from`, following only owners in `within` when given. Tarjan's
   * algorithm, iterative (a chain can be long).
   */
  private components(from: Iterable<string>, within: Set<string> | null): Set<string>[] {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const out: Set<string>[] = [];
    let counter = 0;
    const succ = (o: string) => {
      const s = this.successors(o);
      return within ? s.filter((x) => within.has(x)) : s;
    };
    for (const root of from) {
      if (index.has(root) || (within && !within.has(root))) continue;
      const work: Array<{ o: string; next: string[]; i: number }> = [];
      const open = (o: string) => {
        index.set(o, counter);
        low.set(o, counter++);
        stack.push(o);
        onStack.add(o);
        this.visited++;
        work.push({ o, next: succ(o), i: 0 });
      };
      open(root);
      while (work.length) {
        const top = work[work.length - 1];
        if (top.i < top.next.length) {
          const w = top.next[top.i++];
          if (!index.has(w)) open(w);
          else if (onStack.has(w)) low.set(top.o, Math.min(low.get(top.o)!, index.get(w)!));
          continue;
        }
        work.pop();
        if (work.length) {
          const parent = work[work.length - 1].o;
          low.set(parent, Math.min(low.get(parent)!, low.get(top.o)!));
        }
        if (low.get(top.o) !== index.get(top.o)) continue;
        const scc = new Set<string>();
        let x: string;
        do {
          x = stack.pop()!;
          onStack.delete(x);
          scc.add(x);
        } while (x !== top.o);
        if (scc.size > 1 || top.next.includes(top.o)) out.push(scc);
      }
    }
    return out;
  }

  /**
   * A strongly connected set minus the semaphore waiters that may still get a permit (a holder
   * outside the set), split again. All such waiters leave at once, so the result does not depend
   * on the order the set is walked in.
   */
  private prune(scc: Set<string>): Set<string>[] {
    const stuck = new Set<string>();
    for (const o of scc) {
      let free = false;
      for (const l of this.waits.get(o) ?? EMPTY) {
        const e = this.locks.get(l)!;
        if (e.any && e.holders.some((h) => !scc.has(h))) {
          free = true;
          break;
        }
      }
      if (!free) stuck.add(o);
    }
    if (stuck.size === scc.size) return [scc];
    return this.components(stuck, stuck).flatMap((c) => this.prune(c));
  }

  /** Shortest chain of waits from `a` to `b` inside a group, as [waiter, lock, holder] steps. */
  private pathWithin(owners: Set<string>, a: string, b: string): Array<[string, string, string]> | null {
    if (a === b) return [];
    const prev = new Map<string, [string, string]>([[a, ["", ""]]]);
    const queue = [a];
    for (let i = 0; i < queue.length; i++) {
      const o = queue[i];
      for (const l of this.waits.get(o) ?? EMPTY) {
        for (const h of this.locks.get(l)!.holders) {
          if (!owners.has(h) || prev.has(h)) continue;
          prev.set(h, [o, l]);
          if (h === b) {
            const steps: Array<[string, string, string]> = [];
            for (let x = b; x !== a;) {
              const [p, lock] = prev.get(x)!;
              steps.unshift([p, lock, x]);
              x = p;
            }
            return steps;
          }
          queue.push(h);
        }
      }
    }
    return null;
  }
}

/** The same cycle always reads the same: it starts at its smallest owner key. */
function canonical(steps: Array<[string, string, string]>): Cycle {
  let start = 0;
  for (let i = 1; i < steps.length; i++) if (steps[i][0] < steps[start][0]) start = i;
  const rot = [...steps.slice(start), ...steps.slice(0, start)];
  return { owners: rot.map((s) => s[0]), locks: rot.map((s) => s[1]) };
}

function add(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function remove(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
