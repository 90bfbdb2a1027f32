// Lock node names of the ZooKeeper lock recipes (lock-formats.md §4), parsed and classified.
// Pure.
//   Curator (protected): _c_<uuid>-lock-<seq> (InterProcessMutex, LeaderSelector),
//     _c_<uuid>-__READ__<seq> / _c_<uuid>-__WRIT__<seq> (InterProcessReadWriteLock),
//     _c_<uuid>-latch-<seq> (LeaderLatch), _c_<uuid>-lease-<seq> (InterProcessSemaphoreV2 leases/)
//   kazoo: <uuid4 hex>__lock__<seq> (Lock, WriteLock), <uuid4 hex>__rlock__<seq> (ReadLock);
//     Semaphore holders are bare <uuid4 hex> children (not sequential)
//   ZooKeeper recipe: [<guid>-]lock-<seq>, [<guid>-]read-<seq>, [<guid>-]write-<seq>
// <seq> is ZooKeeper's %010d sequence suffix (kazoo also accepts a negative one after overflow).

export type Family = "curator" | "kazoo" | "recipe";
/** What a contender asks for: exclusive, shared (reader), a latch participant, a semaphore lease. */
export type Role = "exclusive" | "shared" | "latch" | "lease";

export interface ParsedName {
  family: Family;
  role: Role;
  /** the marker as written: "lock-", "__READ__", "__lock__", "read-", ... */
  marker: string;
  seq: number;
  /** Curator's protection UUID, kazoo's uuid4 hex, or the recipe's guid */
  prefix: string;
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const CURATOR = new RegExp(`^_c_(${UUID})-(lock-|latch-|lease-|__READ__|__WRIT__)(\\d{10})$`);
const KAZOO = /^([0-9a-f]{32})(__lock__|__rlock__)(-?\d{10})$/;
const RECIPE = /^(?:(.+)-)?(lock|read|write)-(\d{10})$/;
/** Names that carry a lock marker; one that matches but does not parse is a malformed contender. */
// A marker followed by digits at the end: kazoo's own "<path>-__lock__" sibling is not one.
const LOOKS_LIKE_LOCK = /(-lock-|__lock__|__rlock__|__READ__|__WRIT__|-latch-|-lease-)-?\d+$|^(lock|read|write)-\d+$/;
export const KAZOO_SEMAPHORE_HOLDER = /^[0-9a-f]{32}$/;

const CURATOR_ROLE: Record<string, Role> = {
  "lock-": "exclusive",
  "latch-": "latch",
  "lease-": "lease",
  __READ__: "shared",
  __WRIT__: "exclusive",
};

export function parseName(name: string): ParsedName | null {
  // Curator's and kazoo's names have a fixed shape: read by hand, they parse ~10× faster than
  // through the regexes, which matters on a 10k-node walk (issue 13). Same answers: names.test.ts.
  const fast = name.charCodeAt(0) === 95 /* _ */ ? curatorName(name) : kazooName(name);
  if (fast !== undefined) return fast;
  let m = CURATOR.exec(name);
  if (m) return { family: "curator", role: CURATOR_ROLE[m[2]], marker: m[2], seq: Number(m[3]), prefix: m[1] };
  m = KAZOO.exec(name);
  if (m) return { family: "kazoo", role: m[2] === "__rlock__" ? "shared" : "exclusive", marker: m[2], seq: Number(m[3]), prefix: m[1] };
  m = RECIPE.exec(name);
  if (m) return { family: "recipe", role: m[2] === "read" ? "shared" : "exclusive", marker: `${m[2]}-`, seq: Number(m[3]), prefix: m[1] ?? "" };
  return null;
}

const CURATOR_MARKERS = Object.keys(CURATOR_ROLE);

/** 0-9, a-f */
function isLowerHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/** The number written by `digits` decimal digits at `at` (ZooKeeper's %010d), or -1. */
function digitsAt(s: string, at: number, digits: number): number {
  let n = 0;
  for (let i = at; i < at + digits; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** _c_<uuid>-<marker><10 digits>, as CURATOR; undefined: not that shape. */
function curatorName(name: string): ParsedName | undefined {
  if (name.length < 54 || !name.startsWith("_c_") || name.charCodeAt(39) !== 45 /* - */) return undefined;
  for (let i = 0; i < 36; i++) {
    const c = name.charCodeAt(3 + i);
    const dash = i === 8 || i === 13 || i === 18 || i === 23;
    if (dash ? c !== 45 : !isLowerHex(c)) return undefined;
  }
  const marker = CURATOR_MARKERS.find((m) => name.startsWith(m, 40));
  if (!marker || name.length !== 40 + marker.length + 10) return undefined;
  const seq = digitsAt(name, 40 + marker.length, 10);
  if (seq < 0) return undefined;
  return { family: "curator", role: CURATOR_ROLE[marker], marker, seq, prefix: name.slice(3, 39) };
}

/** <32 hex>__lock__ or __rlock__, then [-]<10 digits>, as KAZOO; undefined: not that shape. */
function kazooName(name: string): ParsedName | undefined {
  if (name.length < 50 || name.charCodeAt(32) !== 95 /* _ */) return undefined;
  for (let i = 0; i < 32; i++) if (!isLowerHex(name.charCodeAt(i))) return undefined;
  const marker = name.startsWith("__lock__", 32) ? "__lock__" : name.startsWith("__rlock__", 32) ? "__rlock__" : null;
  if (!marker) return undefined;
  const at = 32 + marker.length;
  const negative = name.charCodeAt(at) === 45; /* - */
  if (name.length !== at + (negative ? 11 : 10)) return undefined;
  const seq = digitsAt(name, negative ? at + 1 : at, 10);
  if (seq < 0) return undefined;
  return { family: "kazoo", role: marker === "__rlock__" ? "shared" : "exclusive", marker, seq: negative ? -seq : seq, prefix: name.slice(0, 32) };
}

export function looksLikeLock(name: string): boolean {
  return LOOKS_LIKE_LOCK.test(name);
}

/** Curator InterProcessSemaphoreV2's two child directories. */
export const SEMAPHORE_DIRS = ["leases", "locks"];

export type DirKind =
  | { kind: "lock"; family: Family; rw: boolean; latch: boolean; mixed: boolean }
  | { kind: "curator-semaphore" }
  | { kind: "kazoo-semaphore" }
  | { kind: "other" };

/**
 * What a directory is, from its children's names (and its own data, for kazoo's semaphore).
 * Used by the adapter to decide where to descend, and by the decoder to build records; a caller
 * that parsed the names already passes them (`names`, in the children's order).
 */
export function classifyDir(children: string[], data?: Buffer, names: Array<ParsedName | null> = children.map(parseName)): DirKind {
  if (children.length === 0) return { kind: "other" };
  // Contenders (leases aside): one family, or the most common one. Loops, not arrays: this runs
  // for every lock dir of every walk (issue 13).
  let first: Family | null = null;
  let mixed = false;
  for (const p of names) {
    if (p === null || p.role === "lease") continue;
    if (first === null) first = p.family;
    else if (p.family !== first) mixed = true;
  }
  if (first !== null) {
    const family = mixed ? mostCommonFamily(names) : first;
    let rw = false;
    let latch = false;
    for (const p of names) {
      if (p === null || p.role === "lease" || p.family !== family) continue;
      if (p.role === "shared" || p.marker === "__WRIT__" || p.marker === "write-") rw = true;
      if (p.role === "latch") latch = true;
    }
    return { kind: "lock", family, rw, latch, mixed };
  }
  if (children.some((c) => SEMAPHORE_DIRS.includes(c)) && children.every((c) => SEMAPHORE_DIRS.includes(c))) {
    return { kind: "curator-semaphore" };
  }
  if (children.every((c) => KAZOO_SEMAPHORE_HOLDER.test(c)) && isIntegerData(data)) return { kind: "kazoo-semaphore" };
  // Contenders that all fail to parse still make a lock directory (an unknown one, with problems).
  if (children.some(looksLikeLock)) return { kind: "lock", family: "recipe", rw: false, latch: false, mixed: false };
  // A leases/ dir seen on its own (root set inside a semaphore) still holds lock-like children.
  if (names.some((p) => p?.role === "lease")) return { kind: "lock", family: "curator", rw: false, latch: false, mixed: false };
  return { kind: "other" };
}

/** The family of most contenders (leases aside); on a tie, the one met first. */
function mostCommonFamily(names: Array<ParsedName | null>): Family {
  const families = new Map<Family, number>();
  for (const p of names) if (p !== null && p.role !== "lease") families.set(p.family, (families.get(p.family) ?? 0) + 1);
  return [...families.entries()].sort((a, b) => b[1] - a[1])[0][0];
}

export function isIntegerData(data?: Buffer): boolean {
  return data !== undefined && /^\d{1,9}$/.test(data.toString("utf8"));
}

/** Sort key: the sequence number (Curator's standardFixForSorting ignores the random prefix). */
export function bySeq<T extends { parsed: ParsedName }>(a: T, b: T): number {
  return a.parsed.seq - b.parsed.seq;
}
