// The ZooKeeper decoder: turns the znodes read under a connection's root paths into locks.
// A directory whose children carry a recipe's lock marker is a lock; Curator's semaphore is a
// directory of leases/ + locks/; kazoo's semaphore a node with an integer max_leases and bare
// uuid4-hex holders (plus its "<path>-__lock__" sibling). Left-behind empty parents are free
// records (so they can be pruned); a lone ephemeral node is Junqueira's simple lock. Names that
// look like lock nodes but do not parse, and directories too large to list, are problems. Pure.

import type { LockRecord, Problem } from "../../model";
import type { DecodeResult } from "../types";
import { baseName, isEphemeral, joinPath, parentOf, type ZkNode } from "./entry";
import { bySeq, classifyDir, looksLikeLock, parseName, SEMAPHORE_DIRS, type DirKind, type Family, type ParsedName } from "./names";
import { baseRecord, fill, releaseHolding, type Contender, type ZkDecodeContext } from "./record";
import { NO_HOLDING } from "../../fence";
import { previewBytes } from "../preview";

export type { ZkDecodeContext } from "./record";

export const ZOOKEEPER_FORMATS = [
  "curator.mutex",
  "curator.rwlock",
  "curator.semaphore",
  "curator.leader-latch",
  "kazoo.lock",
  "kazoo.rwlock",
  "kazoo.semaphore",
  "zk.recipe",
  "zk.recipe-rwlock",
  "zk.ephemeral",
  "zk.empty-parent",
  "zk.unknown",
];

const LIBRARY: Record<Family, string> = { curator: "Apache Curator", kazoo: "kazoo", recipe: "ZooKeeper lock recipe" };

/**
 * One lock directory decoded as soon as the walk has read it and its children (the adapter does
 * this while the rest of the walk is still on the wire); its children are then left out of the
 * node list handed to decodeZooKeeper, which takes the entry for them. It is taken only when
 * made from the very directory object in that list, and when no child of the directory is in
 * the list too. Any other case is decoded again from the list.
 */
export interface DecodedLockDir {
  dir: ZkNode;
  kids: ZkNode[];
  kind: Extract<DirKind, { kind: "lock" }>;
  record: LockRecord;
  problems: Problem[];
}

/** A caller's children names, in the kids' order: as listed, and parsed (parseName). */
export interface KidNames {
  names: string[];
  parsed: Array<ParsedName | null>;
}

/**
 * Decodes a directory from itself and every child read under it, exactly as decodeZooKeeper would
 * reach it; null when it is not a plain lock (a semaphore, a plain directory): those need the
 * whole read (their leases/ and locks/, a kazoo semaphore's sibling). `known`: the kids' names,
 * parsed already by the caller.
 */
export function decodeLockDirAlone(dir: ZkNode, kids: ZkNode[], ctx: ZkDecodeContext, known?: KidNames): DecodedLockDir | null {
  const names = known?.names ?? kids.map((c) => baseName(c.path));
  const parsed = known?.parsed ?? names.map(parseName);
  const kind = classifyDir(names, dir.data, parsed);
  if (kind.kind !== "lock") return null;
  const problems: Problem[] = [];
  return { dir, kids, kind, record: decodeLockDir(ctx, dir, kind, kids, problems, { names, parsed }), problems };
}

export function decodeZooKeeper(nodes: ZkNode[], ctx: ZkDecodeContext, early?: ReadonlyMap<string, DecodedLockDir>): DecodeResult {
  const byPath = new Map<string, ZkNode>();
  for (const n of nodes) byPath.set(n.path, n);
  const children = new Map<string, ZkNode[]>();
  for (const n of nodes) {
    if (n.path === "/") continue;
    const parent = parentOf(n.path);
    if (!byPath.get(parent)?.listed) continue;
    const list = children.get(parent);
    if (list) list.push(n);
    else children.set(parent, [n]);
  }
  const decoded = new Map<string, DecodedLockDir>();
  for (const [path, e] of early ?? []) if (byPath.get(path) === e.dir && !children.has(path)) decoded.set(path, e);
  const kids = (p: string) => children.get(p) ?? decoded.get(p)?.kids ?? [];
  const locks: LockRecord[] = [];
  const problems: Problem[] = [];
  const claimed = new Set<string>();
  const roots = new Set(ctx.roots);

  const kinds = new Map<string, DirKind>();
  for (const n of nodes) {
    if (!n.listed) continue;
    const e = decoded.get(n.path);
    if (e) {
      kinds.set(n.path, e.kind);
      continue;
    }
    kinds.set(
      n.path,
      classifyDir(
        kids(n.path).map((c) => baseName(c.path)),
        n.data,
      ),
    );
  }
  // Children of recognised locks belong to them; so do a Curator semaphore's leases/ and locks/.
  // (A decoded entry's children are not in the list: nothing there to claim.)
  for (const [path, kind] of kinds) {
    if (kind.kind === "other") continue;
    if (!decoded.has(path)) for (const c of kids(path)) claimed.add(c.path);
    if (kind.kind === "curator-semaphore") for (const d of SEMAPHORE_DIRS) for (const c of kids(joinPath(path, d))) claimed.add(c.path);
  }

  const add = (rec: LockRecord) => {
    locks.push(rec);
    claimed.add(rec.key);
  };
  for (const n of nodes) {
    if (n.refusedAbove !== undefined) {
      problems.push({
        key: n.path,
        code: "too-many-children",
        message: `${n.stat.numChildren} children, more than the listing limit of ${n.refusedAbove}: not listed, so locks below it are not shown`,
      });
      continue;
    }
    if (claimed.has(n.path)) continue;
    const kind = kinds.get(n.path);
    const e = decoded.get(n.path);
    if (e) {
      problems.push(...e.problems);
      add(e.record);
    } else if (kind?.kind === "lock") add(decodeLockDir(ctx, n, kind, kids(n.path), problems));
    else if (kind?.kind === "curator-semaphore") add(decodeCuratorSemaphore(ctx, n, kids));
    else if (kind?.kind === "kazoo-semaphore" || isFreeKazooSemaphore(n, byPath)) {
      const sibling = byPath.get(`${n.path}-__lock__`);
      if (sibling) claimed.add(sibling.path);
      add(decodeKazooSemaphore(ctx, n, kids(n.path), sibling, sibling ? kids(sibling.path) : []));
    }
  }
  // Second pass, once the semaphores claimed their siblings: lone ephemerals and empty parents.
  for (const n of nodes) {
    if (claimed.has(n.path) || roots.has(n.path) || n.refusedAbove !== undefined) continue;
    if (isEphemeral(n.stat)) add(decodeLoneEphemeral(ctx, n));
    else if (n.listed && n.stat.numChildren === 0 && n.stat.cversion > 0) add(decodeEmptyParent(ctx, n));
  }
  // A sibling decoded as a lock before its semaphore claimed it is not a lock of its own.
  return { locks: locks.filter((l) => !l.key.endsWith("-__lock__") || !locks.some((o) => o.relatedKeys?.includes(l.key))), problems };
}

/** `known`: the kids' names, parsed already, in their order (else read from the paths here). */
function contendersOf(dirPath: string, kids: ZkNode[], family: Family | null, problems: Problem[], known?: KidNames): Contender[] {
  const out: Contender[] = [];
  for (let i = 0; i < kids.length; i++) {
    const node = kids[i];
    const name = known ? known.names[i] : baseName(node.path);
    const parsed = known ? known.parsed[i] : parseName(name);
    if (parsed && (family === null || parsed.family === family)) out.push({ node, name, parsed });
    else if (parsed)
      problems.push({
        key: node.path,
        code: "mixed-recipes",
        message: `a ${parsed.family} lock node under a ${family} lock: the two libraries do not see each other's nodes`,
      });
    else if (looksLikeLock(name))
      problems.push({ key: node.path, code: "malformed-lock-node", message: `"${name}" looks like a lock node under ${dirPath} but does not parse` });
    else problems.push({ key: node.path, code: "unexpected-child", message: `"${name}" is not a lock node of this recipe` });
  }
  return out.sort(bySeq);
}

function decodeLockDir(
  ctx: ZkDecodeContext,
  dir: ZkNode,
  kind: Extract<DirKind, { kind: "lock" }>,
  kids: ZkNode[],
  problems: Problem[],
  known?: KidNames,
): LockRecord {
  const cs = contendersOf(dir.path, kids, kind.family, problems, known);
  if (cs.length > 0 && cs.every((c) => c.parsed.role === "lease")) return semaphoreFrom(ctx, dir, cs, []);
  let holders: Contender[];
  let waiters: Contender[];
  if (kind.rw) {
    // Curator, kazoo and the recipe agree: a writer holds only at the head; a reader holds
    // when no writer is ahead of it (kazoo's plain Lock ignores readers, a rare mix).
    const firstWriter = cs.findIndex((c) => c.parsed.role === "exclusive");
    holders = cs.filter((c, i) => (c.parsed.role === "exclusive" ? i === 0 : firstWriter === -1 || i < firstWriter));
    waiters = cs.filter((c) => !holders.includes(c));
  } else {
    holders = cs.slice(0, 1);
    waiters = cs.slice(1);
  }
  const format = formatOf(kind);
  const what = kind.family === "kazoo" ? "identifier" : kind.latch ? "participant id" : kind.family === "curator" ? "client address or id" : "";
  // Curator writes empty data for a lock made revocable (makeRevocable): its holder watches its
  // own node for Curator's "__REVOKE__" marker.
  const revocable =
    kind.family === "curator" && !kind.rw && !kind.latch && holders.length === 1 && holders[0].node.stat.dataLength === 0 ? holders[0].node : null;
  const rec = baseRecord(
    ctx,
    dir,
    format,
    kind.latch ? "election" : kind.rw ? "rwlock" : "mutex",
    releaseHolding(
      holders.map((c) => c.node),
      revocable,
    ),
  );
  rec.library = kind.family === "curator" && !kind.rw && !kind.latch ? "Apache Curator (InterProcessMutex or LeaderSelector)" : LIBRARY[kind.family];
  fill(rec, holders, waiters, what, [], ctx.previews !== false);
  if (revocable) rec.warnings.push("revocable");
  if (cs.length === 0) {
    rec.state = "unknown";
    rec.format = "zk.unknown";
    rec.holding = NO_HOLDING;
    rec.warnings.push("unparsed-lock-nodes");
  }
  if (kind.mixed) rec.warnings.push("mixed-recipes");
  return rec;
}

function formatOf(kind: Extract<DirKind, { kind: "lock" }>): string {
  if (kind.family === "curator") return kind.latch ? "curator.leader-latch" : kind.rw ? "curator.rwlock" : "curator.mutex";
  if (kind.family === "kazoo") return kind.rw ? "kazoo.rwlock" : "kazoo.lock";
  return kind.rw ? "zk.recipe-rwlock" : "zk.recipe";
}

/**
 * InterProcessSemaphoreV2: leases/ holds the holders plus at most one waiter, the client that
 * holds the locks/ mutex while it waits for a free lease; the others queue in locks/. acquire()
 * takes the locks/ mutex first, then creates its lease, then waits (still holding the mutex)
 * while there are more leases than maxLeases.
 */
function decodeCuratorSemaphore(ctx: ZkDecodeContext, dir: ZkNode, kids: (p: string) => ZkNode[]): LockRecord {
  const ignore: Problem[] = [];
  const leases = contendersOf(joinPath(dir.path, "leases"), kids(joinPath(dir.path, "leases")), "curator", ignore);
  const queue = contendersOf(joinPath(dir.path, "locks"), kids(joinPath(dir.path, "locks")), "curator", ignore);
  const rec = semaphoreFrom(ctx, dir, leases, queue);
  rec.relatedKeys = SEMAPHORE_DIRS.map((d) => joinPath(dir.path, d));
  return rec;
}

/**
 * The lease the locks/ head is waiting with: its session's newest lease created after its locks/
 * node. A session may hold other leases too (threads of one client share its session): those
 * were created before, under an earlier locks/ node, and are held. Between the head taking the
 * mutex and creating its lease, a lease its session's previous thread made after the head
 * queued reads as pending for that moment; ZooKeeper's nodes cannot tell the two apart.
 */
function pendingLease(leases: Contender[], head: Contender): Contender | undefined {
  let pending: Contender | undefined;
  for (const l of leases) {
    if (l.node.stat.ephemeralOwner !== head.node.stat.ephemeralOwner) continue;
    if (zxidAfter(l.node.stat.czxid, head.node.stat.czxid) && (!pending || zxidAfter(l.node.stat.czxid, pending.node.stat.czxid))) pending = l;
  }
  return pending;
}

/** a > b for zxids (decimal strings of 64-bit numbers). */
function zxidAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

function semaphoreFrom(ctx: ZkDecodeContext, dir: ZkNode, leases: Contender[], queue: Contender[]): LockRecord {
  const head = queue[0];
  const pending = head ? pendingLease(leases, head) : undefined;
  const holders = leases.filter((l) => l !== pending);
  const waiters = head ? [pending ?? head, ...queue.slice(1)] : [];
  const rec = baseRecord(
    ctx,
    dir,
    "curator.semaphore",
    "semaphore",
    releaseHolding(
      holders.map((c) => c.node),
      null,
    ),
  );
  rec.library = "Apache Curator (InterProcessSemaphoreV2)";
  fill(
    rec,
    holders,
    waiters,
    "client address or lease data",
    [...leases, ...queue].map((c) => c.node),
    ctx.previews !== false,
  );
  // maxLeases lives only in the clients: LockDeck cannot say how many permits are free.
  rec.warnings.push("max-leases-unknown");
  // Threads of one client share its session: which thread has which lease is not in ZooKeeper.
  const sessions = leases.map((l) => l.node.stat.ephemeralOwner).filter((s) => s !== "0x0");
  if (new Set(sessions).size < sessions.length) rec.warnings.push("one-session-several-leases");
  return rec;
}

/** kazoo Semaphore: <path> data = max_leases; holders are bare uuid4-hex children; waiters queue on "<path>-__lock__". */
function decodeKazooSemaphore(ctx: ZkDecodeContext, dir: ZkNode, holderNodes: ZkNode[], sibling: ZkNode | undefined, lockKids: ZkNode[]): LockRecord {
  const holders: Contender[] = holderNodes
    .map((node) => ({
      node,
      name: baseName(node.path),
      parsed: { family: "kazoo" as const, role: "lease" as const, marker: "", seq: node.stat.ctime, prefix: baseName(node.path) },
    }))
    .sort((a, b) => a.node.stat.czxid.localeCompare(b.node.stat.czxid, undefined, { numeric: true }));
  const queue = sibling ? contendersOf(sibling.path, lockKids, "kazoo", []) : [];
  const rec = baseRecord(
    ctx,
    dir,
    "kazoo.semaphore",
    "semaphore",
    releaseHolding(
      holders.map((c) => c.node),
      null,
    ),
  );
  rec.library = "kazoo (Semaphore)";
  fill(rec, holders, queue, "identifier", [dir, ...holders.map((c) => c.node), ...queue.map((c) => c.node)], ctx.previews !== false);
  const max = Number((dir.data ?? Buffer.alloc(0)).toString("utf8"));
  if (Number.isInteger(max)) rec.permitsFree = Math.max(0, max - holders.length);
  if (sibling) rec.relatedKeys = [sibling.path];
  return rec;
}

/** A kazoo semaphore nobody holds: integer data, no children, and its "-__lock__" sibling. */
function isFreeKazooSemaphore(n: ZkNode, byPath: Map<string, ZkNode>): boolean {
  return n.listed && n.stat.numChildren === 0 && byPath.has(`${n.path}-__lock__`) && /^\d{1,9}$/.test((n.data ?? Buffer.alloc(0)).toString("utf8"));
}

/** Junqueira's simple lock: one ephemeral node; its session holds it. */
function decodeLoneEphemeral(ctx: ZkDecodeContext, node: ZkNode): LockRecord {
  const c: Contender = { node, name: baseName(node.path), parsed: { family: "recipe", role: "exclusive", marker: "", seq: 0, prefix: "" } };
  const rec = baseRecord(ctx, node, "zk.ephemeral", "mutex", releaseHolding([node], null));
  rec.library = "ephemeral node";
  return fill(rec, [c], [], "node data", [], ctx.previews !== false);
}

/** A lock directory nobody uses any more (Curator's container parents, kazoo's persistent ones). */
function decodeEmptyParent(ctx: ZkDecodeContext, node: ZkNode): LockRecord {
  const rec = baseRecord(ctx, node, "zk.empty-parent", "mutex", {
    t: "zk-empty",
    p: node.path,
    v: node.stat.version,
    cv: node.stat.cversion,
    cz: node.stat.czxid,
  });
  // Curator's parents are container nodes (the server reaps them after a while), kazoo's are
  // persistent; the Stat a client sees cannot tell them apart.
  rec.library = "lock parent (Curator container or kazoo persistent node)";
  rec.warnings.push("empty-lock-parent");
  if (ctx.previews !== false) rec.raw = [previewBytes(node.path, "znode", node.data ?? Buffer.alloc(0), node.stat.dataLength, false)];
  return rec;
}
