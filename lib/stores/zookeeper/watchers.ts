// node-zookeeper-client keeps its watches in an EventEmitter per watched path, registered with
// once() (lib/WatcherManager.js): ~350 bytes per watch, ~37 MB for the 110k watches of 10k lock
// directories × 10 contenders. This table does the same job with one Map entry per path and the
// watcher function itself, and is put in the library's place when a session is created.
//
// Contract (the library's WatcherManager, 1.1.3, the version package-lock pins): register*
// adds a function once per path and type; a server notification fires and forgets every watcher
// its type concerns (data and existence for NODE_CREATED / NODE_DATA_CHANGED, data and child for
// NODE_DELETED, child for NODE_CHILDREN_CHANGED) with an Event; get*WatcherPaths and isEmpty
// are what a reconnect re-arms from (SetWatches). watchers.test.ts fails if the library stops
// calling it.
//
// The re-arm after a reconnect goes out in SetWatches of at most SET_WATCHES_MAX_BYTES of paths
// each, not in the library's one SetWatches of every path: a server closes the connection on a
// packet larger than its jute.maxbuffer (1 MB by default), so past ~13k watched paths (3 000 lock
// dirs × 10 contenders here) a reconnect never held — the session reconnected, re-sent and was cut
// again, ~50 times a second, and no watch fired again (issue 13). The Java client splits them the
// same way (ClientCnxn, ZOOKEEPER-706).

import zookeeper from "node-zookeeper-client";
import { chrooted, Header } from "./lean";

type Fn = (event: zookeeper.Event) => void;
type Table = Map<string, Fn | Fn[]>;

interface Notification {
  type: number;
  path: string;
}

function add(table: Table, path: string, fn: Fn): void {
  if (typeof fn !== "function") throw new Error("watcher must be a valid function.");
  const have = table.get(path);
  if (!have) table.set(path, fn);
  else if (Array.isArray(have)) {
    if (!have.includes(fn)) have.push(fn);
  } else if (have !== fn) table.set(path, [have, fn]);
}

function drop(table: Table, path: string, fn: Fn): void {
  const have = table.get(path);
  if (have === fn) table.delete(path);
  else if (Array.isArray(have)) {
    const rest = have.filter((f) => f !== fn);
    if (rest.length === 0) table.delete(path);
    else table.set(path, rest.length === 1 ? rest[0] : rest);
  }
}

function take(table: Table, path: string, out: Fn[]): void {
  const have = table.get(path);
  if (!have) return;
  table.delete(path);
  if (Array.isArray(have)) out.push(...have);
  else out.push(have);
}

/** Event.create: the library's Event for a notification (its class, its type names). */
const eventOf = (zookeeper.Event as unknown as { create(n: Notification): zookeeper.Event }).create;

export class LeanWatchers {
  private data: Table = new Map();
  private child: Table = new Map();
  private existence: Table = new Map();

  registerDataWatcher(path: string, fn: Fn): void {
    add(this.data, path, fn);
  }
  registerChildWatcher(path: string, fn: Fn): void {
    add(this.child, path, fn);
  }
  registerExistenceWatcher(path: string, fn: Fn): void {
    add(this.existence, path, fn);
  }
  /** Takes back a watcher that was never armed on the server (its SetWatches failed). */
  unregister(kind: "data" | "child", path: string, fn: Fn): void {
    drop(kind === "data" ? this.data : this.child, path, fn);
  }
  getDataWatcherPaths(): string[] {
    return [...this.data.keys()];
  }
  getChildWatcherPaths(): string[] {
    return [...this.child.keys()];
  }
  getExistenceWatcherPaths(): string[] {
    return [...this.existence.keys()];
  }
  isEmpty(): boolean {
    return this.data.size === 0 && this.child.size === 0 && this.existence.size === 0;
  }

  emit(n: Notification): void {
    const fire: Fn[] = [];
    switch (n.type) {
      case zookeeper.Event.NODE_DATA_CHANGED:
      case zookeeper.Event.NODE_CREATED:
        take(this.data, n.path, fire);
        take(this.existence, n.path, fire);
        break;
      case zookeeper.Event.NODE_CHILDREN_CHANGED:
        take(this.child, n.path, fire);
        break;
      case zookeeper.Event.NODE_DELETED:
        take(this.data, n.path, fire);
        take(this.child, n.path, fire);
        break;
      default:
        throw new Error(`Unknown event type: ${n.type}`);
    }
    if (fire.length === 0) return;
    const event = eventOf(n);
    for (const fn of fire) fn(event);
  }
}

/** The Java client's limit of path bytes per SetWatches (ClientCnxn.SET_WATCHES_MAX_LENGTH). */
export const SET_WATCHES_MAX_BYTES = 128 * 1024;
const OP_SET_WATCHES = 101;

/** Paths to re-arm, in SetWatches' order: data, existence, child. */
export type WatchLists = [data: string[], exist: string[], child: string[]];

/**
 * The lists cut into SetWatches of at most maxBytes of paths each (as the server sees them, under
 * the chroot; 4 bytes of length each), in order; a path longer than that goes alone.
 */
export function setWatchesBatches(lists: WatchLists, chroot: string, maxBytes = SET_WATCHES_MAX_BYTES): WatchLists[] {
  const out: WatchLists[] = [];
  let batch: WatchLists = [[], [], []];
  let bytes = 0;
  lists.forEach((paths, kind) => {
    for (const path of paths) {
      const size = 4 + Buffer.byteLength(chrooted(chroot, path));
      if (bytes > 0 && bytes + size > maxBytes) {
        out.push(batch);
        batch = [[], [], []];
        bytes = 0;
      }
      batch[kind].push(path);
      bytes += size;
    }
  });
  if (bytes > 0) out.push(batch);
  return out;
}

/** SetWatches {relativeZxid: long, dataWatches, existWatches, childWatches: vector<ustring>}. */
class SetWatchesRequest {
  private chroot = "";
  readonly payload = this;
  readonly header = new Header(OP_SET_WATCHES);
  constructor(
    private readonly relativeZxid: Buffer,
    private readonly lists: WatchLists,
  ) {}
  setChrootPath(chroot: string | undefined): void {
    this.chroot = chroot ?? "";
  }
  toBuffer(): Buffer {
    const lists = this.lists.map((paths) => paths.map((p) => Buffer.from(chrooted(this.chroot, p), "utf8")));
    let size = 8 + 8;
    for (const paths of lists) size += 4 + paths.reduce((n, p) => n + 4 + p.length, 0);
    const buf = Buffer.allocUnsafe(4 + size);
    buf.writeInt32BE(size, 0);
    this.header.serialize(buf, 4);
    this.relativeZxid.copy(buf, 12, 0, 8);
    let at = 20;
    for (const paths of lists) {
      buf.writeInt32BE(paths.length, at);
      at += 4;
      for (const p of paths) {
        buf.writeInt32BE(p.length, at);
        p.copy(buf, at + 4);
        at += 4 + p.length;
      }
    }
    return buf;
  }
}

interface Connecting {
  watcherManager: LeanWatchers | { isEmpty(): boolean };
  chrootPath?: string;
  /** The last zxid the client has seen: what the server compares each watched node with. */
  zxid: Buffer;
  onSocketConnected(this: Connecting, ...args: unknown[]): void;
  queue(request: unknown, callback?: (err: Error | null) => void): void;
}

const NOTHING_WATCHED = { isEmpty: () => true };

/**
 * Puts a LeanWatchers in the client's place, and re-arms its watches after each reconnect in
 * SetWatches of SET_WATCHES_MAX_BYTES at most; call before connect(), while no watch is set.
 */
export function installLeanWatchers(client: zookeeper.Client): void {
  const cm = (client as unknown as { connectionManager: Connecting }).connectionManager;
  if (!cm || !("watcherManager" in cm)) throw new Error("node-zookeeper-client has no connectionManager.watcherManager: the pinned version changed");
  const table = new LeanWatchers();
  cm.watcherManager = table;
  const connected = cm.onSocketConnected;
  cm.onSocketConnected = function (...args) {
    // The library sends its ConnectRequest and queues the auth packets, and would queue one
    // SetWatches of every path: shown an empty table, it queues none.
    this.watcherManager = NOTHING_WATCHED;
    try {
      connected.apply(this, args);
    } finally {
      this.watcherManager = table;
    }
    if (table.isEmpty()) return;
    sendSetWatches(this, Buffer.from(this.zxid), [table.getDataWatcherPaths(), table.getExistenceWatcherPaths(), table.getChildWatcherPaths()]);
  };
}

/**
 * Queues SetWatches of `lists` relative to `relativeZxid`, in pieces of SET_WATCHES_MAX_BYTES;
 * `done` once every piece is answered, or with the first error.
 */
function sendSetWatches(cm: Connecting, relativeZxid: Buffer, lists: WatchLists, done: (err: Error | null) => void = () => {}): void {
  const batches = setWatchesBatches(lists, cm.chrootPath ?? "");
  let left = batches.length;
  let failed = false;
  if (left === 0) return done(null);
  for (const batch of batches) {
    cm.queue(new SetWatchesRequest(relativeZxid, batch), (err) => {
      if (failed) return;
      if (err) {
        failed = true;
        return done(err);
      }
      if (--left === 0) done(null);
    });
  }
}

/** A watch to arm without a read: its kind, its path, its watcher. */
export type Arming = { kind: "data" | "child"; path: string; watcher: Fn };

/**
 * Arms watches without a read each: registers them in the table, then sends SetWatches relative
 * to `relativeZxid`, in pieces of SET_WATCHES_MAX_BYTES. The server arms each watch whose node has
 * not changed since that zxid and fires at once those whose node has, or is gone: reads sent after
 * the client had seen relativeZxid, then armed this way, miss no change. `done` once every piece
 * is answered, or with the first error; then the caller takes back what it registered
 * (disarmWatches), as it does when no answer comes in time.
 */
export function armWatches(client: zookeeper.Client, relativeZxid: Buffer, watches: Arming[], done: (err: Error | null) => void): void {
  const cm = (client as unknown as { connectionManager: Connecting }).connectionManager;
  const table = cm.watcherManager as LeanWatchers;
  for (const w of watches) {
    if (w.kind === "data") table.registerDataWatcher(w.path, w.watcher);
    else table.registerChildWatcher(w.path, w.watcher);
  }
  const lists: WatchLists = [[], [], []];
  for (const w of watches) lists[w.kind === "data" ? 0 : 2].push(w.path);
  sendSetWatches(cm, relativeZxid, lists, done);
}

/** Takes watches registered by armWatches back out of the table: their SetWatches failed or was not answered. */
export function disarmWatches(client: zookeeper.Client, watches: Arming[]): void {
  const table = (client as unknown as { connectionManager: Connecting }).connectionManager.watcherManager as LeanWatchers;
  for (const w of watches) table.unregister(w.kind, w.path, w.watcher);
}
