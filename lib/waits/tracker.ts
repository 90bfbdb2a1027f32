// Keeps one wait-for graph per connection (graph.ts) up to date from the event bus — the same
// upsert/remove/resync events the lock table follows — and hands the "deadlock" warning back to
// the hub for every lock whose place on a cycle changed (Hub.setDerivedWarnings). The hub then
// publishes those records again, so the table, the lock page and the alerts see the warning
// like any other.
//
// The warnings are handed back after the event that caused them has reached every subscriber
// (a microtask later): a publish from inside a bus listener would reach the rest of the
// listeners before the event being delivered.
//
// A resync (a first snapshot is one) rebuilds the graph on the next turn of the event loop,
// after the hub's refresh has returned: at 100k locks the rebuild takes 0.1–0.2 s, and the
// connection goes live without waiting for it. Until it runs, that connection's changes are not
// applied one by one: the rebuild reads the records as they are then, changes included.

import type { LockRecord } from "../model";
import type { EventBus, SequencedEvent } from "../hub/bus";
import { WaitGraph } from "./graph";

export interface WaitSource {
  /** The connection's current records (a resync rebuilds the graph from them). */
  records(connection: string): Iterable<LockRecord> | undefined;
  /** Sets the derived warnings of one lock (Hub.setDerivedWarnings). */
  annotate(connection: string, key: string, warnings: readonly string[]): void;
}

const DEADLOCK = ["deadlock"] as const;
const NONE: readonly string[] = [];

export class WaitTracker {
  private graphs = new Map<string, WaitGraph>();
  private pending = new Map<string, Set<string>>();
  private scheduled = false;
  private unsubscribe: (() => void) | null = null;
  private rebuilds = new Map<string, ReturnType<typeof setImmediate>>();

  constructor(
    private readonly bus: EventBus,
    private readonly source: WaitSource,
  ) {}

  start(): this {
    this.unsubscribe = this.bus.subscribe((e) => this.onEvent(e));
    return this;
  }

  stop(): void {
    this.unsubscribe?.();
    for (const t of this.rebuilds.values()) clearImmediate(t);
    this.rebuilds.clear();
  }

  /** The connection's graph (empty until its first records arrive). */
  graph(connection: string): WaitGraph {
    let g = this.graphs.get(connection);
    if (!g) this.graphs.set(connection, (g = new WaitGraph()));
    return g;
  }

  private onEvent(e: SequencedEvent): void {
    if (e.type === "resync") this.scheduleRebuild(e.connection);
    else if (this.rebuilds.has(e.connection))
      return; // the rebuild will read this change
    else if (e.type === "upsert") this.queue(e.connection, this.graph(e.connection).update(e.data.lock.key, e.data.lock));
    else if (e.type === "remove") this.queue(e.connection, this.graph(e.connection).update(e.data.key, null));
  }

  private scheduleRebuild(connection: string): void {
    if (this.rebuilds.has(connection)) return;
    this.rebuilds.set(
      connection,
      setImmediate(() => {
        this.rebuilds.delete(connection);
        this.rebuild(connection);
      }),
    );
  }

  /** After a resync every record may have changed: a new graph, and every flag said again. */
  private rebuild(connection: string): void {
    const old = this.graphs.get(connection);
    const g = new WaitGraph();
    for (const r of this.source.records(connection) ?? []) g.update(r.key, r);
    this.graphs.set(connection, g);
    this.queue(connection, [...(old?.deadlockedLocks() ?? []), ...g.deadlockedLocks()]);
  }

  private queue(connection: string, keys: string[]): void {
    if (keys.length === 0) return;
    let set = this.pending.get(connection);
    if (!set) this.pending.set(connection, (set = new Set()));
    for (const k of keys) set.add(k);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [connection, keys] of pending) {
      const g = this.graph(connection);
      for (const key of keys) this.source.annotate(connection, key, g.isDeadlocked(key) ? DEADLOCK : NONE);
    }
  }
}
