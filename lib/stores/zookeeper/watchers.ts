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

import zookeeper from "node-zookeeper-client";

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

/** Puts a LeanWatchers in the client's place; call before connect(), while no watch is set. */
export function installLeanWatchers(client: zookeeper.Client): void {
  const cm = (client as unknown as { connectionManager: { watcherManager: unknown } }).connectionManager;
  if (!cm || !("watcherManager" in cm)) throw new Error("node-zookeeper-client has no connectionManager.watcherManager: the pinned version changed");
  cm.watcherManager = new LeanWatchers();
}
