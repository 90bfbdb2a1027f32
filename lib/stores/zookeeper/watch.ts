// Live updates from ZooKeeper watches. Watches fire once: each one is re-armed with the read that
// follows its event (discovery asks this object whether a path is armed, and arms it if not: by
// the read itself, or after it by SetWatches when the read went in a multiRead), so while
// nothing changes nothing is re-read. Events are coalesced into batches of changed
// paths for the hub; a reconnect or a new session yields {resync: true} (the feed may have missed
// events, and a new session has lost every watch).

import type { StoreChange } from "../../model";
import { baseName, joinPath, parentOf } from "../../formats/zookeeper/entry";
import type { Watcher } from "./client";
import type { WatchArming } from "./discover";

const COALESCE_MS = 15;

export class WatchSet implements WatchArming {
  private armedChild = new Set<string>();
  /**
   * Data watches by directory, then name: a re-walk asks for every lock node, and looking up its
   * name in its dir's set costs a third of looking up its whole path (a fresh string each walk,
   * hashed whole; issue 13).
   */
  private armedData = new Map<string, Set<string>>();
  private pending = new Set<string>();
  private resyncDue = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    /** Maps the path an event names to the store key the hub should re-read. */
    private readonly keyFor: (path: string, kind: "child" | "data") => string,
  ) {}

  child(path: string): Watcher | undefined {
    if (this.armedChild.has(path)) return undefined;
    this.armedChild.add(path);
    return () => {
      this.armedChild.delete(path);
      this.push(this.keyFor(path, "child"));
    };
  }

  data(dir: string, name: string): Watcher | undefined {
    let names = this.armedData.get(dir);
    if (names?.has(name)) return undefined;
    if (!names) this.armedData.set(dir, (names = new Set()));
    names.add(name);
    return () => {
      this.disarmData(dir, name);
      this.push(this.keyFor(joinPath(dir, name), "data"));
    };
  }

  private disarmData(dir: string, name: string): void {
    const names = this.armedData.get(dir);
    if (names?.delete(name) && names.size === 0) this.armedData.delete(dir);
  }

  /** The read that would have set the watch failed (node gone, timeout): it is not armed. */
  forget(kind: "child" | "data", path: string): void {
    if (kind === "child") this.armedChild.delete(path);
    else this.disarmData(parentOf(path), baseName(path));
  }

  get armedCount(): number {
    let data = 0;
    for (const names of this.armedData.values()) data += names.size;
    return this.armedChild.size + data;
  }

  /** Keys to re-read for a reason no watch reports (a holder's session left every server). */
  changed(keys: string[]): void {
    for (const k of keys) this.push(k);
  }

  /** The session was replaced: the server forgot every watch. */
  sessionLost(): void {
    this.armedChild.clear();
    this.armedData.clear();
    this.resync();
  }

  /**
   * A full read starts now: it covers the re-list and the changed keys asked for before it.
   * Without this, a resync flagged while the hub was not following the feed (its re-read failed
   * as the session expired, so it re-listed on its own) walked every root a second time in the
   * next feed.
   */
  relisting(): void {
    this.resyncDue = false;
    this.pending.clear();
  }

  /** Events may have been missed (reconnect): the hub must re-list. */
  resync(): void {
    this.resyncDue = true;
    this.flush();
  }

  private push(key: string): void {
    this.pending.add(key);
    this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Batches of changed keys until the signal aborts. */
  async *feed(signal: AbortSignal): AsyncGenerator<StoreChange> {
    const onAbort = () => this.flush();
    signal.addEventListener("abort", onAbort);
    try {
      while (!signal.aborted) {
        if (this.pending.size === 0 && !this.resyncDue) await new Promise<void>((r) => (this.wake = r));
        if (signal.aborted) break;
        if (this.resyncDue) {
          this.resyncDue = false;
          this.pending.clear();
          yield { keys: [], resync: true };
        } else if (this.pending.size > 0) {
          const keys = [...this.pending];
          this.pending.clear();
          yield { keys };
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}
