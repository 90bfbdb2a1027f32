// Discovery: walks the configured root paths and reads the znodes the decoder needs.
//   - A node's Stat comes first (getData): numChildren is checked BEFORE any getChildren, and a
//     node above the listing limit is never listed (its count is reported instead). A
//     getChildren answer larger than the client's packet limit is what sends Java clients into
//     an endless reconnect loop (reliability.md row 28); we never ask for one.
//   - Lock directories (classified by their children's names) get every child read; other
//     directories are descended into, up to maxDepth; ephemeral nodes are leaves.
//   - A plain lock directory is decoded as soon as its children are read (decodeLockDirAlone),
//     from the names parsed at its listing, while the rest of the walk waits on the wire; the
//     decoder takes that record as is, and its children stay out of the node list (the record
//     holds what the lock needs of them).
//   - Watches are armed as a side effect (children of every listed directory, data of every lock
//     node), through the Watches object, which knows what is already armed.
//   - When the server has multiRead (ZooKeeper 3.6+), every read goes out in one with up to
//     MULTI_READ_OPS others: the server handles each request whole (queues, threads, a reply
//     write), so a walk of 10k nodes costs it ~100 requests instead of ~12k (issue 13). A
//     multiRead arms no watch, so the watches those reads stand for are armed once the visit's
//     reads are in, by SetWatches relative to the zxid the client had seen before sending them
//     (ZkSession.armWatches): the server fires at once for any node changed since, so no change
//     between a read and its watch is missed. Without multiRead, a read arms its watch itself.
// A node that vanishes between listing and reading is skipped (a release raced the read).

import type { Problem } from "../../model";
import { baseName, isEphemeral, joinPath, type ZkNode, type ZkStat } from "../../formats/zookeeper/entry";
import { classifyDir, parseName, type DirKind, type ParsedName } from "../../formats/zookeeper/names";
import { decodeLockDirAlone, type DecodedLockDir, type KidNames, type ZkDecodeContext } from "../../formats/zookeeper";
import { ZK, ZkError, type Watcher, type ZkSession } from "./client";
import type { Arming } from "./watchers";
import type { MultiReadOp, MultiReadResult } from "./lean";
import { Fifo } from "./queue";

/** The problem code of a walk that stopped at maxNodes (said once, at the path where it stopped). */
export const TOO_MANY_NODES = "too-many-nodes";

export interface DiscoverLimits {
  maxChildren: number;
  maxDepth: number;
  maxNodes: number;
}

/** Arms a watch unless it is armed already: the watcher to pass with the read, or undefined. */
export interface WatchArming {
  child(path: string): Watcher | undefined;
  /** The data watch of dir's child `name`. */
  data(dir: string, name: string): Watcher | undefined;
  forget(kind: "child" | "data", path: string): void;
}

export interface DirInfo {
  kind: DirKind["kind"];
  children: string[];
}

export interface ReadResult {
  /** Every node read, but the children of the directories in `decoded` (those are in their entry). */
  nodes: ZkNode[];
  problems: Problem[];
  /** Every directory listed, with what it was and its children (the adapter's index). */
  dirs: Map<string, DirInfo>;
  /** Plain lock directories already decoded, by path (for decodeZooKeeper). */
  decoded: Map<string, DecodedLockDir>;
}

/** Requests in flight per walk; ZooKeeper throttles every client past globalOutstandingLimit (1 000). */
export const WALK_IN_FLIGHT = 256;

/** Reads per multiRead: a reply of ~90 bytes a lock node, ~12 KB (issue 13: 64-256 read alike). */
export const MULTI_READ_OPS = 128;
/** multiReads out per walk at once: the server's read threads stay shared with the applications. */
export const MULTI_READ_IN_FLIGHT = 8;

/** One request the walk has still to make: list a node already read, or read a listed dir's child. */
type Task = { list: ZkNode; depth: number } | { read: string; dir: ListedDir; i: number };

/** A directory whose children are being read. */
interface ListedDir {
  node: ZkNode;
  depth: number;
  /** Its children are lock nodes or a kazoo semaphore's: read whatever the depth. */
  lockish: boolean;
  /** Its children are descended into (lock parts always; other directories down to maxDepth). */
  descend: boolean;
  /** Its children's names as listed, and parsed. */
  names: string[];
  parsed: Array<ParsedName | null>;
  /** Children whose read has not answered yet. */
  unanswered: number;
  /**
   * A lock dir's children read, in the order they answered, kept here (not in the node list)
   * until it is decoded; null once one is not a leaf. `leafNames`: their names, in that order.
   */
  leaves: ZkNode[] | null;
  leafNames: KidNames;
}

/** One visit's pending work and requests. */
interface Visit {
  queue: Fifo<Task>;
  /** Tasks that arm no watch, waiting to go out together in a multiRead. */
  batch: Task[];
  /** Requests out (a multiRead counts once). */
  inFlight: number;
  multiReads: number;
  /**
   * Watches asked for by reads that went out in a multiRead, to arm once the reads are in, with
   * the zxid the client had seen before any of them was sent.
   */
  toArm: Map<Task, Arming>;
  relativeZxid: Buffer;
  settled: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The walk keeps its pending work as small Task records in a queue and at most WALK_IN_FLIGHT
 * requests (each a promise) on the wire per visit. It used to start an async function per child
 * and park it on a limiter: a 10k-node walk then held ~16 MB of suspended frames at a time, which
 * every young collection of the walk copied (issue 13: 5-22 ms a scavenge, against 1-3 ms for a
 * plain client's read of the same nodes).
 */
export class Walker {
  private count = 0;
  readonly out: ReadResult = { nodes: [], problems: [], dirs: new Map(), decoded: new Map() };

  constructor(
    private readonly session: ZkSession,
    private readonly limits: DiscoverLimits,
    private readonly watches: WatchArming | null,
    private readonly signal: AbortSignal,
    /** What the records will be decoded with; lock directories are decoded during the walk. */
    private readonly decodeCtx: ZkDecodeContext,
    /** The server answers multiRead (ZooKeeper 3.6+): reads that arm no watch go out batched. */
    private readonly multiRead = false,
  ) {}

  /**
   * Reads path (and below it). Returns false when the path does not exist. The first failed
   * read, or the signal, fails the visit at once: nothing more is sent, and replies still on the
   * wire are dropped as they come.
   */
  async visit(path: string, depth: number): Promise<boolean> {
    this.signal.throwIfAborted();
    const read = await this.read(path);
    if (!read) return false;
    // An abort during that read is seen here; a later one through the listener below.
    this.signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => this.fail(v, this.signal.reason);
      const unlisten = () => this.signal.removeEventListener("abort", onAbort);
      const v: Visit = {
        queue: new Fifo(),
        batch: [],
        inFlight: 0,
        multiReads: 0,
        toArm: new Map(),
        // Every read below is sent after the starting read's answer came in.
        relativeZxid: this.session.lastZxid(),
        settled: false,
        resolve: () => (unlisten(), resolve()),
        reject: (err) => (unlisten(), reject(err)),
      };
      this.signal.addEventListener("abort", onAbort);
      this.step(v, () => this.expand(v, path, read.stat, read.data, depth, false));
    });
    return true;
  }

  /** Runs one piece of the visit (a throw fails it), then sends what may go, or settles it. */
  private step(v: Visit, work: () => void): void {
    if (v.settled) return;
    try {
      work();
      this.pump(v);
    } catch (err) {
      return this.fail(v, err);
    }
    if (v.inFlight > 0 || v.queue.size > 0 || v.batch.length > 0) return;
    if (v.toArm.size > 0) return this.arm(v);
    v.settled = true;
    v.resolve();
  }

  private fail(v: Visit, err: unknown): void {
    if (v.settled) return;
    v.settled = true;
    v.queue.clear();
    v.batch = [];
    // Not armed on the server: the next walk asks again.
    for (const a of v.toArm.values()) this.watches?.forget(a.kind, a.path);
    v.toArm.clear();
    v.reject(err);
  }

  /**
   * Every read is in: arms the watches they stand for, then the visit settles. Counted in
   * inFlight, so step() does not come here again while the arming is out.
   */
  private arm(v: Visit): void {
    v.inFlight++;
    this.session.armWatches(v.relativeZxid, [...v.toArm.values()]).then(
      () => {
        v.inFlight--;
        v.toArm.clear();
        this.step(v, () => {});
      },
      (err) => {
        v.inFlight--;
        this.step(v, () => {
          throw err;
        });
      },
    );
  }

  /** Records an already-read node and, if it may have children and is not too large, queues its listing. */
  private expand(v: Visit, path: string, stat: ZkStat, data: Buffer, depth: number, counted: boolean): void {
    const node: ZkNode = { path, stat, data, listed: false };
    this.out.nodes.push(node);
    if (!counted) this.count++;
    if (isEphemeral(stat)) return; // ephemeral nodes cannot have children
    if (stat.numChildren > this.limits.maxChildren) {
      node.refusedAbove = this.limits.maxChildren;
      return;
    }
    v.queue.push({ list: node, depth });
  }

  /**
   * Starts queued requests while fewer than WALK_IN_FLIGHT are out: alone when the read arms a
   * watch (or the server has no multiRead), else gathered into multiReads, at most
   * MULTI_READ_IN_FLIGHT of them out. The queue's order holds: a full batch that cannot go yet
   * stops the taking.
   */
  private pump(v: Visit): void {
    for (;;) {
      if (v.batch.length >= MULTI_READ_OPS) {
        if (v.multiReads >= MULTI_READ_IN_FLIGHT || v.inFlight >= WALK_IN_FLIGHT) return;
        this.sendBatch(v);
        continue;
      }
      if (v.inFlight >= WALK_IN_FLIGHT) break;
      const task = v.queue.take();
      if (!task) break;
      // Asking arms the watch (the read that follows sets it): a listing's child watch, a lock
      // node's data watch.
      const watcher =
        "list" in task ? this.watches?.child(task.list.path) : task.dir.lockish ? this.watches?.data(task.dir.node.path, task.dir.names[task.i]) : undefined;
      if (this.multiRead) {
        if (watcher)
          v.toArm.set(task, {
            kind: "list" in task ? "child" : "data",
            path: "list" in task ? task.list.path : task.read,
            watcher: watcher as Arming["watcher"],
          });
        v.batch.push(task);
        continue;
      }
      v.inFlight++;
      if ("list" in task) this.list(v, task.list, task.depth, watcher);
      else this.readChild(v, task.dir, task.read, task.i, watcher);
    }
    if (v.batch.length > 0 && v.multiReads < MULTI_READ_IN_FLIGHT && v.inFlight < WALK_IN_FLIGHT) this.sendBatch(v);
  }

  private list(v: Visit, node: ZkNode, depth: number, watcher: Watcher | undefined): void {
    this.session.getChildren(node.path, watcher).then(
      ({ children }) => {
        v.inFlight--;
        this.step(v, () => this.listed(v, node, depth, children));
      },
      (err) => {
        v.inFlight--;
        if (watcher) this.watches?.forget("child", node.path);
        this.step(v, () => this.listFailed(node.path, err));
      },
    );
  }

  private readChild(v: Visit, dir: ListedDir, path: string, i: number, watcher: Watcher | undefined): void {
    this.session.getData(path, watcher).then(
      (k) => {
        v.inFlight--;
        this.step(v, () => this.childRead(v, dir, path, i, k));
      },
      (err) => {
        v.inFlight--;
        this.step(v, () => this.childRead(v, dir, path, i, this.readFailed(path, watcher !== undefined, err)));
      },
    );
  }

  /** Sends the batch (pump keeps it at MULTI_READ_OPS at most) as one multiRead; each answer goes where a lone reply would. */
  private sendBatch(v: Visit): void {
    const tasks = v.batch;
    v.batch = [];
    const ops: MultiReadOp[] = tasks.map((t) => ("list" in t ? { kind: "children", path: t.list.path } : { kind: "data", path: t.read }));
    v.inFlight++;
    v.multiReads++;
    this.session.multiRead(ops).then(
      (answers) => {
        v.inFlight--;
        v.multiReads--;
        this.step(v, () => tasks.forEach((t, i) => this.answered(v, t, answers[i])));
      },
      (err) => {
        v.inFlight--;
        v.multiReads--;
        this.step(v, () => {
          throw asReadError(ops[0].path, err);
        });
      },
    );
  }

  /** One task's answer out of a multiRead, handled as its lone read's reply or error would be. */
  private answered(v: Visit, t: Task, a: MultiReadResult): void {
    const err = "err" in a ? new ZkError(a.err, `ZooKeeper error ${a.err}`) : null;
    const arming = err ? v.toArm.get(t) : undefined;
    if (arming) {
      // The node is gone (or not ours to read): no watch to arm on it.
      v.toArm.delete(t);
      this.watches?.forget(arming.kind, arming.path);
    }
    if ("list" in t) {
      if (err) this.listFailed(t.list.path, err);
      else this.listed(v, t.list, t.depth, (a as { children: string[] }).children);
    } else {
      const k = err ? this.readFailed(t.read, false, err) : (a as { data: Buffer; stat: ZkStat });
      this.childRead(v, t.dir, t.read, t.i, k);
    }
  }

  /** A listing that failed: the node is gone (a release raced the walk), or the walk fails. */
  private listFailed(path: string, err: unknown): void {
    if (!(err instanceof ZkError && err.code === ZK.NO_NODE)) throw asReadError(path, err);
  }

  /** A listing answered: checks it, records the directory and queues a read of every child. */
  private listed(v: Visit, node: ZkNode, depth: number, names: string[]): void {
    const path = node.path;
    node.listed = true;
    if (names.length > this.limits.maxChildren) {
      // It grew between the Stat and the listing: still refuse to go further.
      node.listed = false;
      node.refusedAbove = this.limits.maxChildren;
      node.stat = { ...node.stat, numChildren: names.length };
      return;
    }
    const parsed = names.map(parseName);
    const kind = classifyDir(names, node.data, parsed);
    this.out.dirs.set(path, { kind: kind.kind, children: names });
    if (names.length === 0) return;
    const lockish = kind.kind === "lock" || kind.kind === "kazoo-semaphore";
    // Lock nodes and a semaphore's leases/ + locks/ are part of the lock: read them whatever
    // the depth; other directories only down to maxDepth.
    const descend = lockish || kind.kind === "curator-semaphore" || depth < this.limits.maxDepth;
    const dir: ListedDir = {
      node,
      depth,
      lockish,
      descend,
      names,
      parsed,
      unanswered: 0,
      leaves: kind.kind === "lock" ? [] : null,
      leafNames: { names: [], parsed: [] },
    };
    for (let i = 0; i < names.length; i++) {
      const childPath = joinPath(path, names[i]);
      if (this.count >= this.limits.maxNodes) {
        this.budgetProblem(childPath);
        break;
      }
      this.count++;
      dir.unanswered++;
      v.queue.push({ read: childPath, dir, i });
    }
  }

  /** A child's read answered (null: it is gone, or not ours to read); `i`: its place in the listing. */
  private childRead(v: Visit, dir: ListedDir, path: string, i: number, k: { stat: ZkStat; data: Buffer } | null): void {
    dir.unanswered--;
    if (k) {
      // A lock node with no children stays a leaf (kazoo's persistent lock nodes): no listing.
      if (dir.lockish && k.stat.numChildren === 0) {
        const leaf: ZkNode = { path, stat: k.stat, data: k.data, listed: false };
        if (dir.leaves) {
          dir.leaves.push(leaf);
          dir.leafNames.names.push(dir.names[i]);
          dir.leafNames.parsed.push(dir.parsed[i]);
        } else this.out.nodes.push(leaf);
      } else {
        this.keepLeaves(dir);
        if (dir.descend) this.expand(v, path, k.stat, k.data, dir.depth + 1, true);
        else this.out.nodes.push({ path, stat: k.stat, data: k.data, listed: false });
      }
    }
    if (dir.unanswered > 0 || !dir.leaves) return;
    const decoded = decodeLockDirAlone(dir.node, dir.leaves, this.decodeCtx, dir.leafNames);
    if (decoded) this.out.decoded.set(dir.node.path, decoded);
    else this.keepLeaves(dir);
  }

  /** The dir will not be decoded alone: its leaves join the node list, for the whole decode. */
  private keepLeaves(dir: ListedDir): void {
    if (!dir.leaves) return;
    for (const leaf of dir.leaves) this.out.nodes.push(leaf);
    dir.leaves = null;
  }

  private budgetHit = false;
  private budgetProblem(path: string): void {
    if (this.budgetHit) return;
    this.budgetHit = true;
    this.out.problems.push({
      key: path,
      code: TOO_MANY_NODES,
      message: `stopped after ${this.limits.maxNodes} znodes under the root paths (maxNodes): narrow the roots or raise the limit`,
    });
  }

  /** getData of a visit's starting node; null when it is gone or not ours to read (reported). */
  private async read(path: string): Promise<{ stat: ZkStat; data: Buffer } | null> {
    try {
      return await this.session.getData(path);
    } catch (err) {
      return this.readFailed(path, false, err);
    }
  }

  /**
   * A getData that failed (a data watch it armed is forgotten): null when the node is gone or not
   * ours to read (reported); throws otherwise.
   */
  private readFailed(path: string, armedByThisRead: boolean, err: unknown): null {
    if (armedByThisRead) this.watches?.forget("data", path);
    if (err instanceof ZkError && err.code === ZK.NO_NODE) return null;
    if (err instanceof ZkError && err.code === ZK.NO_AUTH) {
      this.out.problems.push({
        key: path,
        code: "no-auth",
        message: `not allowed to read ${baseName(path) || path} (ACL): add digest credentials with READ on it`,
      });
      return null;
    }
    throw asReadError(path, err);
  }
}

function asReadError(path: string, err: unknown): Error {
  const e = err as Error;
  return new Error(`reading ${path}: ${e.message}`, { cause: err });
}
