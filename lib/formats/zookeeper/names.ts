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
  let m = CURATOR.exec(name);
  if (m) return { family: "curator", role: CURATOR_ROLE[m[2]], marker: m[2], seq: Number(m[3]), prefix: m[1] };
  m = KAZOO.exec(name);
  if (m) return { family: "kazoo", role: m[2] === "__rlock__" ? "shared" : "exclusive", marker: m[2], seq: Number(m[3]), prefix: m[1] };
  m = RECIPE.exec(name);
  if (m) return { family: "recipe", role: m[2] === "read" ? "shared" : "exclusive", marker: `${m[2]}-`, seq: Number(m[3]), prefix: m[1] ?? "" };
  return null;
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
  const parsed = names.filter((p): p is ParsedName => p !== null && p.role !== "lease");
  if (parsed.length > 0) {
    const families = new Map<Family, number>();
    for (const p of parsed) families.set(p.family, (families.get(p.family) ?? 0) + 1);
    const family = [...families.entries()].sort((a, b) => b[1] - a[1])[0][0];
    const own = parsed.filter((p) => p.family === family);
    return {
      kind: "lock",
      family,
      rw: own.some((p) => p.role === "shared" || p.marker === "__WRIT__" || p.marker === "write-"),
      latch: own.some((p) => p.role === "latch"),
      mixed: families.size > 1,
    };
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

export function isIntegerData(data?: Buffer): boolean {
  return data !== undefined && /^\d{1,9}$/.test(data.toString("utf8"));
}

/** Sort key: the sequence number (Curator's standardFixForSorting ignores the random prefix). */
export function bySeq<T extends { parsed: ParsedName }>(a: T, b: T): number {
  return a.parsed.seq - b.parsed.seq;
}
