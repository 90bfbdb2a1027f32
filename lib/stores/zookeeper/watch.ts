// Live updates from ZooKeeper watches. Watches fire once: each one is re-armed by the read that
// follows its event (discovery asks this object whether a path is armed, and arms it if not),
// so while nothing changes nothing is re-read. Events are coalesced into batches of changed
// paths for the hub; a reconnect or a new session yields {resync: true} (the feed may have missed
// events, and a new session has lost every watch).

import type { StoreChange } from "../../model";
import type { Watcher } from "./client";
import type { WatchArming } from "./discover";

const COALESCE_MS = 15;

export class WatchSet implements WatchArming {
  private armedChild = new Set<string>();
  private armedData = new Set<string>();
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

  data(path: string): Watcher | undefined {
    if (this.armedData.has(path)) return undefined;
    this.armedData.add(path);
    return () => {
      this.armedData.delete(path);
      this.push(this.keyFor(path, "data"));
    };
  }

  /** The read that would have set the watch failed (node gone, timeout): it is not armed. */
  forget(kind: "child" | "data", path: string): void {
    (kind === "child" ? this.armedChild : this.armedData).delete(path);
  }

  get armedCount(): number {
    return this.armedChild.size + this.armedData.size;
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
