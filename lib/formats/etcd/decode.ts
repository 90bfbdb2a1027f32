// The etcd decoder: range entries and lease facts in, lock records and named problems out. Pure.
//
// Groups: every "<group>/" that has at least one key in the Go or etcd3-Election layout is a
// lock (or an election). Its queue is what the library itself sees: all keys under the group
// prefix, nested ones included, by create_revision; the first is the holder (leader), the rest
// wait in order. A key in that queue that is not the group's own layout is still in the queue
// (a Go waiter waits for it too) and is reported as a problem.
// Lone keys: a key with a lease and an empty value is an npm etcd3 Lock (one key, no queue);
// anything else under a lock prefix is an "unknown" record with the reason, never released.

import type { Holder, Holding, LockRecord, Problem, Waiter } from "../../model";
import type { DecodeContext, DecodeResult } from "../types";
import { previewBytes } from "../preview";
import { ownerOfValue } from "../owner";
import { escapeControls } from "../../keys";
import { leaseHex, type EtcdEntry, type LeaseInfo } from "./entry";
import { classify, compareRevision, layoutKind, parentOf, type LayoutKind } from "./layout";

export const ETCD_FORMATS = ["etcd.mutex", "etcd.election", "etcd3js.lock", "etcd3js.election", "etcd.unknown"];

const LIBRARY: Record<string, string> = {
  "etcd.mutex": "etcd concurrency.Mutex (Go client, etcdctl lock, v3lock API)",
  "etcd.election": "etcd concurrency.Election (Go client, etcdctl elect, v3election API)",
  "etcd3js.lock": "npm etcd3 Lock",
  "etcd3js.election": "npm etcd3 Election",
};

/** At most this many member keys are listed in relatedKeys (a queue can be long). */
const RELATED_CAP = 20;
const OWNER_CAP = 200;

export type Leases = Map<string, LeaseInfo>;

export interface EtcdDecodeResult extends DecodeResult {
  /**
   * Each record's holder key's lease (decimal, "0" = none): whose TTL the lock shows, in `locks`
   * order. A lock key → lease map is holderLeaseMap(keys, leaseOf), made by whoever needs one: a
   * 90k-entry Map cost a 100k-key decode ~20% more, and a snapshot is served without it.
   */
  leaseOf: string[];
}

/** Lock key → its holder's lease, from a decode's record keys and leaseOf, in order (a later record of the same key wins). */
export function holderLeaseMap(keys: readonly string[], leaseOf: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < keys.length; i++) m.set(keys[i], leaseOf[i]);
  return m;
}

/** Records with lease facts, in one pass: for a caller that read the leases already. */
export function decodeEtcd(entries: EtcdEntry[], leases: Leases, ctx: DecodeContext): EtcdDecodeResult {
  return decode(entries, ctx, leases);
}

/**
 * Records without lease facts (ttlMs null) plus each lock's holder lease, so a caller can read
 * TTLs for exactly the holders' leases and then applyLeases().
 */
export function decodeStructure(entries: EtcdEntry[], ctx: DecodeContext): EtcdDecodeResult {
  return decode(entries, ctx, null);
}

interface Group {
  kind: "go" | "js";
  members: EtcdEntry[];
  /** Keys under the group's prefix that are not its own layout keys (foreign or nested). */
  others?: EtcdEntry[];
}

// Written for 100k keys: no global sort, no per-entry Map; a key's ancestor prefixes are
// looked up directly (keys have few "/"), so the cost is linear in keys times path depth.
function decode(entries: EtcdEntry[], ctx: DecodeContext, leases: Leases | null): EtcdDecodeResult {
  const n = entries.length;
  // Each entry's layout as its kind and group name: no Layout object per entry.
  const kinds: LayoutKind[] = new Array(n);
  const names: Array<string | null> = new Array(n);
  const groups = new Map<string, Group>();
  for (let i = 0; i < n; i++) {
    const e = entries[i];
    const kind = (kinds[i] = layoutKind(e));
    if (kind === "lone") {
      names[i] = null;
      continue;
    }
    const group = (names[i] = parentOf(e.key));
    const g = groups.get(group);
    if (g) g.members.push(e);
    else groups.set(group, { kind, members: [e] });
  }
  const inQueue = new Uint8Array(n);
  const problems: Problem[] = [];
  if (groups.size > 0) {
    // Sorted keys share their ancestors: the last prefix looked up (and whether it is a group)
    // is reused while keys still start with it, so most keys cost no slice and no Map lookup.
    let lastPrefix = "";
    let lastGroup: Group | undefined;
    for (let i = 0; i < n; i++) {
      const key = entries[i].key;
      const own = names[i];
      if (own) inQueue[i] = 1;
      for (let p = key.indexOf("/"); p >= 0; p = key.indexOf("/", p + 1)) {
        if (p === key.length - 1 && !own) break; // the key itself is "<x>/": not under itself
        // own is key[0, own.length): its own group, never under itself.
        if (own !== null && p === own.length - 1) continue;
        let g: Group | undefined;
        let prefix: string;
        if (lastPrefix.length === p + 1 && key.startsWith(lastPrefix)) {
          prefix = lastPrefix;
          g = lastGroup;
        } else {
          prefix = key.slice(0, p + 1);
          g = groups.get(prefix);
          lastPrefix = prefix;
          lastGroup = g;
        }
        if (prefix === key) continue;
        if (!g) continue;
        (g.others ??= []).push(entries[i]);
        inQueue[i] = 1;
        problems.push({
          key,
          code: own ? "nested-lock-prefix" : "foreign-key",
          message: own
            ? `a key of another lock under ${prefix}: the ${prefix} queue orders it too (Go ranges the whole prefix)`
            : `not a ${prefix} lock key (its name is not its lease id), yet it takes a place in that queue`,
        });
      }
    }
  }
  const locks: LockRecord[] = [];
  const leaseOf: string[] = [];
  for (const [group, g] of groups) {
    const queue = g.others ? [...g.members, ...g.others] : g.members;
    if (queue.length > 1) queue.sort(byCreate);
    locks.push(groupRecord(ctx, group, g, queue, leases));
    leaseOf.push(queue[0].lease);
  }
  for (let i = 0; i < n; i++) {
    if (kinds[i] !== "lone" || inQueue[i]) continue;
    const e = entries[i];
    leaseOf.push(e.lease);
    if (e.lease !== "0" && e.value.length === 0) {
      locks.push(loneLock(ctx, e, leases));
      continue;
    }
    const code = e.lease === "0" ? "no-lease" : "not-a-lock-layout";
    problems.push({
      key: e.key,
      code,
      message:
        code === "no-lease"
          ? "a key under a lock prefix with no lease: no etcd lock library writes one, and nothing would ever expire it"
          : "a key with a lease and a value, whose name is not its lease id: not a lock layout LockDeck knows",
    });
    locks.push(unknownRecord(ctx, e, code, leases));
  }
  return { locks, problems, leaseOf };
}

const LEASE_WARNINGS = new Set(["lease-ttl-unknown", "lease-expired", "not-renewed"]);

/**
 * Puts a lease's facts on a record: remaining TTL (the store's), granted TTL, attached keys,
 * and the lease warnings. A lease LeaseTimeToLive could not answer for is "lease-ttl-unknown"
 * (ttlMs null); TTL -1 (expired, keys not yet deleted) is "lease-expired" with 0 ms left.
 */
export function applyLeases(rec: LockRecord, lease: string, leases: Leases): LockRecord {
  // A copy, down to the head holder that setLease fills in: the input stays as it was.
  const holders = rec.holders.map((h, i) => (i === 0 ? { ...h, lease: undefined, liveness: undefined } : h));
  const out = { ...rec, warnings: rec.warnings.filter((w) => !LEASE_WARNINGS.has(w)), holders };
  setLease(out, lease, leases);
  return out;
}

/**
 * applyLeases for records the caller owns outright (fresh from decodeStructure, not shared):
 * fills them in place instead of copying 100k records.
 */
export function applyLeasesInPlace(records: LockRecord[], leaseOf: string[], leases: Leases): void {
  for (let i = 0; i < records.length; i++) setLease(records[i], leaseOf[i], leases);
}

/** In place, on a record being built (no copy: 100k records). */
function setLease(rec: LockRecord, lease: string, leases: Leases): void {
  if (lease === "0") return;
  const info = leases.get(lease);
  const unknown = rec.format === "etcd.unknown";
  rec.ttlMs = null;
  if (!info) {
    if (!unknown) rec.warnings.push("lease-ttl-unknown");
  } else if (info.ttlSec < 0) {
    rec.ttlMs = 0;
    if (!unknown) rec.warnings.push("lease-expired");
  } else {
    rec.ttlMs = info.ttlSec * 1000;
    if (info.notRenewed && !unknown) rec.warnings.push("not-renewed");
  }
  const head = rec.holders[0];
  if (head && info) {
    // The record is ours (being built, or copied by applyLeases): its head holder takes the lease.
    head.lease = holderLeaseOf(lease, info);
    // A lease nobody renews (or one that ran out) is the holder's client gone: the only
    // liveness etcd can tell. A renewing lease says nothing more, so nothing is claimed then.
    if (info.ttlSec < 0) head.liveness = { state: "dead", reason: "its lease expired" };
    else if (info.notRenewed) head.liveness = { state: "dead", reason: "its lease is not renewed: no keep-alive arrived when one was due" };
  }
}

/**
 * The holder's lease facts, one object per LeaseInfo (a read's answer for one lease), shared by
 * every record that lease holds: 90k records on 1,000 leases make 1,000 objects, not 90k.
 * Nothing mutates a record's holder lease once made (applyLeases replaces it).
 */
const holderLeases = new WeakMap<LeaseInfo, NonNullable<Holder["lease"]>>();
function holderLeaseOf(lease: string, info: LeaseInfo): NonNullable<Holder["lease"]> {
  let l = holderLeases.get(info);
  if (l === undefined) {
    l = { id: leaseHex(lease), ttlMs: Math.max(0, info.ttlSec) * 1000, grantedTtlMs: info.grantedSec * 1000 };
    if (info.keys) l.keys = info.keys;
    if (info.keysElsewhere) l.keysElsewhere = info.keysElsewhere;
    holderLeases.set(info, l);
  }
  return l;
}

function byCreate(a: EtcdEntry, b: EtcdEntry): number {
  return compareRevision(a.createRevision, b.createRevision);
}

const NO_WAITERS: Waiter[] = Object.freeze([]) as unknown as Waiter[];

function groupRecord(ctx: DecodeContext, group: string, g: Group, queue: EtcdEntry[], leases: Leases | null): LockRecord {
  const head = queue[0];
  const ownSet = g.others ? new Set(g.members) : null;
  const foreignHead = ownSet !== null && !ownSet.has(head);
  const election = g.kind === "js" || hasValue(g.members);
  const format = g.kind === "js" ? "etcd3js.election" : election ? "etcd.election" : "etcd.mutex";
  const holding: Holding = foreignHead ? { t: "none", why: "foreign-holder" } : kvHolding(head, group, format);
  const warnings = expiryWarnings(head);
  if (foreignHead) warnings.push("foreign-holder");
  else if (g.others?.some(isForeign)) warnings.push("foreign-key");
  const rec = base(ctx, group, group.slice(0, -1), format, election ? "election" : "mutex", holding, head, {
    holders: [holderOf(head, election, foreignHead)],
    waiters: queue.length > 1 ? waitersOf(queue, ownSet, election) : NO_WAITERS,
    warnings,
    fencingToken: head.createRevision,
    relatedKeys: queue.length === 1 ? [head.key] : queue.slice(0, RELATED_CAP).map(keyOf),
  });
  if (leases) setLease(rec, head.lease, leases);
  return rec;
}

function hasValue(es: EtcdEntry[]): boolean {
  for (const e of es) if (e.value.length > 0) return true;
  return false;
}

const keyOf = (e: EtcdEntry) => e.key;
const isForeign = (e: EtcdEntry) => classify(e).kind === "lone";

function waitersOf(queue: EtcdEntry[], ownSet: Set<EtcdEntry> | null, election: boolean): Waiter[] {
  const out: Waiter[] = [];
  for (let i = 1; i < queue.length; i++) {
    const e = queue[i];
    const mine = !ownSet || ownSet.has(e);
    out.push({
      id: mine ? leaseHex(e.lease) : lastSegment(e.key),
      position: i,
      owner: !mine ? `not a lock key: ${escapeControls(e.key)}` : election && e.value.length ? ownerText(e.value) : undefined,
      ownerKey: mine && e.lease !== "0" ? leaseOwnerKey(e.lease) : undefined,
    });
  }
  return out;
}

function loneLock(ctx: DecodeContext, e: EtcdEntry, leases: Leases | null): LockRecord {
  const rec = base(ctx, e.key, e.key, "etcd3js.lock", "mutex", kvHolding(e, e.key, "etcd3js.lock"), e, {
    holders: [holderOf(e, false, false)],
    warnings: expiryWarnings(e),
    fencingToken: e.createRevision,
  });
  if (leases) setLease(rec, e.lease, leases);
  return rec;
}

/** Shown so the operator sees it, never released: there is no lock shape to compare. */
function unknownRecord(ctx: DecodeContext, e: EtcdEntry, warning: string, leases: Leases | null): LockRecord {
  const rec = base(ctx, e.key, e.key, "etcd.unknown", "mutex", { t: "none", why: warning }, e, { state: "unknown", warnings: [warning] });
  if (leases) setLease(rec, e.lease, leases);
  return rec;
}

/**
 * The holder key's identity for the fence: create and mod revision and lease. The key itself is
 * left out when the lock key and lease give it (holderKeyOf), which is always for the layouts
 * decoded here: 100k fences a snapshot, each base64 of JSON, are worth keeping short.
 */
function kvHolding(e: EtcdEntry, lockKey: string, format: string): Holding {
  const h: Holding = { t: "kv", cr: e.createRevision, mr: e.modRevision, l: e.lease };
  if (!derivesKey(e.key, lockKey, format, e.lease)) h.k = e.key;
  return h;
}

/** holderKeyOf(lockKey, format, {l: lease}) === key, without building that string (100k a snapshot). */
function derivesKey(key: string, lockKey: string, format: string, lease: string): boolean {
  if (format === "etcd3js.lock") return key === lockKey;
  const tail = format === "etcd3js.election" ? lease : leaseHex(lease);
  return key.length === lockKey.length + tail.length && key.startsWith(lockKey) && key.endsWith(tail);
}

/** The holder key a kv fence names: its `k`, else derived from the lock key, format and lease. */
export function holderKeyOf(lockKey: string, format: string, h: Holding): string {
  if (typeof h.k === "string") return h.k;
  const lease = String(h.l);
  if (format === "etcd3js.lock") return lockKey;
  if (format === "etcd3js.election") return lockKey + lease;
  return lockKey + leaseHex(lease);
}

function expiryWarnings(head: EtcdEntry): string[] {
  return head.lease === "0" ? ["no-expiry"] : [];
}

/**
 * The record as one literal with its final fields: a field added after the literal gives every
 * record a second property store (100k records a snapshot).
 */
function base(
  ctx: DecodeContext,
  key: string,
  name: string,
  format: string,
  kind: LockRecord["kind"],
  holding: Holding,
  head: EtcdEntry,
  o: { holders?: Holder[]; waiters?: Waiter[]; warnings: string[]; fencingToken?: string; relatedKeys?: string[]; state?: LockRecord["state"] },
): LockRecord {
  const rec: LockRecord = {
    connection: ctx.connection,
    key,
    name,
    format,
    library: LIBRARY[format],
    kind,
    state: o.state ?? "held",
    holders: o.holders ?? [],
    waiters: o.waiters ?? NO_WAITERS,
    ttlMs: null,
    ttlSource: head.lease === "0" ? "none" : "lease",
    holding,
    observedAt: isoOf(ctx.now),
    consistency: ctx.consistency,
    warnings: o.warnings,
    fencingToken: o.fencingToken,
    relatedKeys: o.relatedKeys,
  };
  // An empty value (every Mutex key) has nothing to preview; the key is in relatedKeys.
  if (ctx.previews !== false && head.value.length > 0) rec.raw = [previewBytes(head.key, "kv", head.value, head.value.length, false)];
  return rec;
}

/**
 * A concurrency.Session (Go, etcdctl) or an etcd3 Lock/Election is one lease: every key the
 * client holds or waits with is attached to it, so the lease is the owner.
 */
export function leaseOwnerKey(lease: string): string {
  let k = ownerKeys.get(lease);
  if (k === undefined) {
    k = `lease:${leaseHex(lease)}`;
    // One string per lease, not per record (many keys share a lease); bounded like leaseHex's memo.
    if (ownerKeys.size > 50_000) ownerKeys.clear();
    ownerKeys.set(lease, k);
  }
  return k;
}

const ownerKeys = new Map<string, string>();

function holderOf(e: EtcdEntry, election: boolean, foreign: boolean): Holder {
  const h: Holder = { id: foreign || e.lease === "0" ? lastSegment(e.key) : leaseHex(e.lease) };
  if (!foreign && e.lease !== "0") h.ownerKey = leaseOwnerKey(e.lease);
  if (foreign) h.owner = `not a lock key: ${escapeControls(e.key)}`;
  else if (election && e.value.length) h.owner = ownerText(e.value);
  return h;
}

/** An election candidate's value: a JSON object's telling fields, else escaped text (or hex) short enough for a table cell. */
function ownerText(value: Buffer): string {
  const fields = value.length <= 4_096 && value[0] === 0x7b ? ownerOfValue(value.toString("utf8")) : undefined;
  if (fields) return fields;
  const p = previewBytes("", "kv", value.subarray(0, OWNER_CAP), value.length, value.length > OWNER_CAP);
  return p.preview + (p.truncated ? "…" : "");
}

// 100k records share one read time: format it once (a cache, not state: same input, same output).
let lastNow = Number.NaN;
let lastIso = "";
function isoOf(now: number): string {
  if (now !== lastNow) {
    lastIso = new Date(now).toISOString();
    lastNow = now;
  }
  return lastIso;
}

function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1) || key;
}
