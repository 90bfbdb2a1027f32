// The live feed: one etcd watch stream per lock prefix, from the revision after the snapshot.
//
// Contract (reliability.md §5.1, test plan rows 22):
// - no prev_kv: etcd reads each event's previous value with a range of its own before it sends
//   the events (a delete of 12 000 keys reached us 6 s after etcd acknowledged it, 46 ms
//   without); a deleted key's locks come from what the adapter knows (lockKeysOf, `deleted`);
// - every event since the snapshot is delivered: a watch starts at snapshot revision + 1;
// - a broken stream is re-opened from the revision after the last one it delivered (events
//   and progress notifications both advance it), so a reconnect neither repeats nor skips;
// - when that revision was compacted away, etcd cancels the watch with compact_revision set:
//   the feed yields {resync: true}, the hub re-lists, and the watch restarts after the new
//   snapshot's revision;
// - a watch etcd refuses outright (permission denied) ends the feed with an error, so the hub
//   falls back to polling;
// - a batch naming more than `relistOver` locks (a burst: thousands of workers, a bulk delete)
//   is yielded as {resync: true}: one re-list costs less than re-reading each lock, and the view
//   is behind for that long instead of for thousands of ranges (audit2 F8).

import type { Etcd3, IEvent, IWatchResponse } from "etcd3";
import type { StoreChange } from "../../model";
import type { EtcdEntry } from "../../formats/etcd";
import { entryOf, prefixEnd, prefixStart } from "./read";
import { ChangeFeed } from "../change-feed";
import { startTicks } from "../ticks";

const COALESCE_MS = 15;

export interface WatchHooks {
  /** Revision of the last snapshot (decimal), "0" when none. */
  snapshotRevision(): string;
  /**
   * Lock keys a changed entry belongs to (its group, itself, known ancestor groups). `deleted`:
   * the entry is a delete event's (key and revision only: no value, no lease).
   */
  lockKeysOf(entry: EtcdEntry, deleted: boolean): string[];
  /** A batch naming more locks than this is a re-list instead (absent: never). */
  relistOver?: number;
  /** Called every tickMs while following (lease checks); returns lock keys to re-read. */
  tick?(signal: AbortSignal): Promise<string[]>;
  tickMs?: number;
  /** All streams open (true) or some re-connecting (false). */
  onLive?(live: boolean): void;
  /** Receives a function that makes the feed yield {resync: true} (the adapter's own reasons). */
  onResyncHandle?(poke: () => void): void;
}

export class WatchRefused extends Error {
  override readonly name = "WatchRefused";
}

type Stream = Awaited<ReturnType<Etcd3["watchClient"]["watch"]>>;

export async function* watchPrefixes(client: Etcd3, prefixes: string[], hooks: WatchHooks, signal: AbortSignal): AsyncGenerator<StoreChange> {
  const feed = new ChangeFeed(COALESCE_MS);
  const openCount = { open: 0 };
  const setOpen = (delta: number) => {
    openCount.open += delta;
    hooks.onLive?.(openCount.open === prefixes.length);
  };

  const watchers = prefixes.map((prefix) =>
    followPrefix(client, prefix, hooks, signal, {
      changed: (keys) => feed.add(keys),
      compacted: () => feed.needResync(),
      refused: (err) => feed.fail(err),
      opened: () => setOpen(1),
      closed: () => setOpen(-1),
    }),
  );

  hooks.onResyncHandle?.(() => feed.needResync());
  const stopTicks = hooks.tick ? startTicks(hooks.tick, hooks.tickMs ?? 5_000, signal, (keys) => feed.add(keys)) : null;
  try {
    for await (const batch of feed.drain(signal)) {
      const change = hooks.relistOver !== undefined && batch.keys.length > hooks.relistOver ? { keys: [], resync: true } : batch;
      yield change;
      // The hub re-listed before asking for more: watches that were compacted restart there.
      if (change.resync) for (const w of watchers) w.restartAfterResync();
    }
  } finally {
    stopTicks?.();
    for (const w of watchers) w.stop();
  }
}

interface Sink {
  changed(keys: string[]): void;
  compacted(): void;
  refused(err: Error): void;
  opened(): void;
  closed(): void;
}

/** One prefix's stream, re-opened from its next revision until stopped. */
function followPrefix(client: Etcd3, prefix: string, hooks: WatchHooks, signal: AbortSignal, sink: Sink) {
  const key = prefixStart(prefix);
  const rangeEnd = prefixEnd(Buffer.from(prefix, "utf8"));
  const snap = hooks.snapshotRevision();
  /** The first revision this watch still has to deliver. */
  let next: bigint | null = snap !== "0" ? BigInt(snap) + 1n : null;
  let stream: Stream | null = null;
  let stopped = false;
  let waitingForResync = false;
  let backoff = 200;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const schedule = (ms: number) => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void open();
    }, ms);
    timer.unref?.();
  };

  const close = () => {
    const s = stream;
    stream = null;
    // Handlers ignore a stream that is no longer `stream`; the cancel itself reports CANCELLED.
    s?.cancel();
  };

  const onResponse = (res: IWatchResponse, live: { opened: boolean }) => {
    if (res.compact_revision && res.compact_revision !== "0") {
      // Our next revision is gone: only a re-list can tell what happened in between.
      close();
      if (live.opened) sink.closed();
      live.opened = false;
      waitingForResync = true;
      sink.compacted();
      return;
    }
    if (res.canceled) {
      close();
      if (live.opened) sink.closed();
      live.opened = false;
      sink.refused(new WatchRefused(`etcd cancelled the watch on ${prefix}: ${res.cancel_reason || "no reason given"}`));
      return;
    }
    if (res.created) {
      backoff = 200;
      if (!live.opened) sink.opened();
      live.opened = true;
      if (next === null) next = BigInt(res.header.revision) + 1n;
      return;
    }
    const keys = new Set<string>();
    for (const ev of res.events as IEvent[]) {
      for (const k of hooks.lockKeysOf(entryOf(ev.kv), ev.type === "Delete")) keys.add(k);
      const after = BigInt(ev.kv.mod_revision) + 1n;
      if (next === null || after > next) next = after;
    }
    // No events: a progress notification, everything up to header.revision was sent.
    if (res.events.length === 0 && res.header?.revision) {
      const after = BigInt(res.header.revision) + 1n;
      if (next === null || after > next) next = after;
    }
    if (keys.size) sink.changed([...keys]);
  };

  const open = async () => {
    if (stopped || signal.aborted || waitingForResync) return;
    const live = { opened: false };
    let s: Stream;
    try {
      s = await client.watchClient.watch();
    } catch {
      schedule((backoff = Math.min(backoff * 2, 2_000)));
      return;
    }
    if (stopped) {
      s.on("error", () => {});
      s.cancel();
      return;
    }
    stream = s;
    const broken = () => {
      if (stream !== s) return;
      stream = null;
      if (live.opened) sink.closed();
      live.opened = false;
      // Resume from the next undelivered revision; never from "now".
      schedule((backoff = Math.min(backoff * 2, 2_000)));
    };
    s.on("data", (res: IWatchResponse) => {
      if (stream === s) onResponse(res, live);
    });
    s.on("error", broken);
    s.on("end", broken);
    s.write({
      create_request: {
        key,
        range_end: rangeEnd,
        ...(next !== null && { start_revision: next.toString() }),
        progress_notify: true,
      },
    });
  };

  void open();
  return {
    restartAfterResync() {
      if (!waitingForResync) return;
      waitingForResync = false;
      const snapRev = hooks.snapshotRevision();
      next = snapRev !== "0" ? BigInt(snapRev) + 1n : null;
      void open();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      close();
    },
  };
}
