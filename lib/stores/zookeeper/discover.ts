// Discovery: walks the configured root paths and reads the znodes the decoder needs.
//   - A node's Stat comes first (getData): numChildren is checked BEFORE any getChildren, and a
//     node above the listing limit is never listed (its count is reported instead). A
//     getChildren answer larger than the client's packet limit is what sends Java clients into
//     an endless reconnect loop (reliability.md row 28); we never ask for one.
//   - Lock directories (classified by their children's names) get every child read; other
//     directories are descended into, up to maxDepth; ephemeral nodes are leaves.
//   - A plain lock directory is decoded as soon as its children are read (decodeLockDirAlone),
//     while the rest of the walk waits on the wire; the decoder takes that record as is.
//   - Watches are armed as a side effect (children of every listed directory, data of every lock
//     node), through the Watches object, which knows what is already armed.
// A node that vanishes between listing and reading is skipped (a release raced the read).

import type { Problem } from "../../model";
import { baseName, isEphemeral, joinPath, type ZkNode, type ZkStat } from "../../formats/zookeeper/entry";
import { classifyDir, type DirKind } from "../../formats/zookeeper/names";
import { decodeLockDirAlone, type DecodedLockDir, type ZkDecodeContext } from "../../formats/zookeeper";
import { ZK, ZkError, type Watcher, type ZkSession } from "./client";
import { Limiter } from "./limiter";

export interface DiscoverLimits {
  maxChildren: number;
  maxDepth: number;
  maxNodes: number;
}

export interface WatchArming {
  child(path: string): Watcher | undefined;
  data(path: string): Watcher | undefined;
  forget(kind: "child" | "data", path: string): void;
}

export interface DirInfo {
  kind: DirKind["kind"];
  children: string[];
}

export interface ReadResult {
  nodes: ZkNode[];
  problems: Problem[];
  /** Every directory listed, with what it was and its children (the adapter's index). */
  dirs: Map<string, DirInfo>;
  /** Plain lock directories already decoded, by path (for decodeZooKeeper). */
  decoded: Map<string, DecodedLockDir>;
}

const CONCURRENCY = 256;

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
  ) {}

  /** Reads path (and below it). Returns false when the path does not exist. */
  async visit(path: string, depth: number): Promise<boolean> {
    const read = await this.read(path, false);
    if (!read) return false;
    await this.expand(path, read.stat, read.data, depth);
    return true;
  }

  /** Lists an already-read node's children, if it may have any and is not too large. */
  private async expand(path: string, stat: ZkStat, data: Buffer, depth: number, counted = false): Promise<void> {
    this.signal.throwIfAborted();
    const node: ZkNode = { path, stat, data, listed: false };
    this.out.nodes.push(node);
    if (!counted) this.count++;
    if (isEphemeral(stat)) return; // ephemeral nodes cannot have children
    if (stat.numChildren > this.limits.maxChildren) {
      node.refusedAbove = this.limits.maxChildren;
      return;
    }
    let names: string[];
    try {
      ({ children: names } = await this.limited(() => this.session.getChildren(path, this.watches?.child(path))));
    } catch (err) {
      this.watches?.forget("child", path);
      if (err instanceof ZkError && err.code === ZK.NO_NODE) return;
      throw asReadError(path, err);
    }
    node.listed = true;
    if (names.length > this.limits.maxChildren) {
      // It grew between the Stat and the listing: still refuse to go further.
      node.listed = false;
      node.refusedAbove = this.limits.maxChildren;
      node.stat = { ...stat, numChildren: names.length };
      return;
    }
    const kind = classifyDir(names, data);
    this.out.dirs.set(path, { kind: kind.kind, children: names });
    if (names.length === 0) return;
    const lockish = kind.kind === "lock" || kind.kind === "kazoo-semaphore";
    // Lock nodes and a semaphore's leases/ + locks/ are part of the lock: read them whatever
    // the depth; other directories only down to maxDepth.
    const descend = lockish || kind.kind === "curator-semaphore" || depth < this.limits.maxDepth;
    // Every child read, in the order the decoder will see them; null once one is not a leaf.
    let leaves: ZkNode[] | null = kind.kind === "lock" ? [] : null;
    await Promise.all(
      names.map(async (name) => {
        const childPath = joinPath(path, name);
        if (this.count >= this.limits.maxNodes) return this.budgetProblem(childPath);
        this.count++;
        const k = await this.read(childPath, lockish);
        if (!k) return;
        // A lock node with no children stays a leaf (kazoo's persistent lock nodes): no listing.
        if (lockish && k.stat.numChildren === 0) {
          const leaf: ZkNode = { path: childPath, stat: k.stat, data: k.data, listed: false };
          this.out.nodes.push(leaf);
          leaves?.push(leaf);
          return;
        }
        leaves = null;
        if (descend) await this.expand(childPath, k.stat, k.data, depth + 1, true);
        else this.out.nodes.push({ path: childPath, stat: k.stat, data: k.data, listed: false });
      }),
    );
    const decoded = leaves && decodeLockDirAlone(node, leaves, this.decodeCtx);
    if (decoded) this.out.decoded.set(path, decoded);
  }

  /** At most CONCURRENCY requests in flight, however wide and deep the walk fans out. */
  private readonly limiter = new Limiter(CONCURRENCY);
  private limited<T>(fn: () => Promise<T>): Promise<T> {
    return this.limiter.run(fn);
  }

  private budgetHit = false;
  private budgetProblem(path: string): void {
    if (this.budgetHit) return;
    this.budgetHit = true;
    this.out.problems.push({
      key: path,
      code: "too-many-nodes",
      message: `stopped after ${this.limits.maxNodes} znodes under the root paths (maxNodes): narrow the roots or raise the limit`,
    });
  }

  /** getData (with a data watch on lock nodes); null when the node is gone. */
  private async read(path: string, lockNode: boolean): Promise<{ stat: ZkStat; data: Buffer } | null> {
    try {
      return await this.limited(() => this.session.getData(path, lockNode ? this.watches?.data(path) : undefined));
    } catch (err) {
      if (lockNode) this.watches?.forget("data", path);
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
}

function asReadError(path: string, err: unknown): Error {
  const e = err as Error;
  return new Error(`reading ${path}: ${e.message}`, { cause: err });
}
