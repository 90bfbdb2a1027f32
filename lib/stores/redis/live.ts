// The Redis live feed: which push source to follow, and the expiry clock beside it.
//   1. client tracking (Redis ≥ 6; needs no server config) — the default;
//   2. keyspace notifications, where the server already sends them (or `notifications: "enable"`);
//   3. none: watch() throws before its first item and the hub polls (it says why).
// `notifications: "enable"` asks for keyspace events explicitly (and turns them on); "off" polls.
// Tracking that trips its rate guard is left alone for a while (TRACKING_PAUSE_MS).

import type Redis from "ioredis";
import type { LockRecord, StoreChange } from "../../model";
import type { RedisConnectionConfig } from "./config";
import { createSubscriber, scanNodes, type RedisClient } from "./client";
import { ensureNotifications, keyspaceChanges } from "./notify";
import { TrackingTooBusy, trackingChanges, trackingPrefixes } from "./tracking";
import { ExpiryClock } from "./expiry";

/** Invalidated keys per second (all keys, before the pattern filter) that tracking may cost. */
export const TRACKING_MAX_KEYS_PER_SEC = 10_000;
const TRACKING_PAUSE_MS = 10 * 60_000;

export class LiveFeed {
  /** What the view follows while live ("client tracking", "keyspace events"), else null. */
  name: string | null = null;
  private clock: ExpiryClock | null = null;
  private trackingPaused: { until: number; why: string } | null = null;

  constructor(
    private readonly cfg: RedisConnectionConfig,
    private readonly db: number,
    private readonly wanted: (key: string) => boolean,
  ) {}

  /** Records the store's TTLs as read at `readAt`, so each lock is asked again when its TTL runs out. */
  noteTtls(locks: LockRecord[], readAt: number): void {
    const clock = this.clock;
    if (!clock) return;
    // One clock reading for the batch: Next wraps Date.now() (AsyncLocalStorage look-ups), and
    // per lock that was ~20 ms of a 100k snapshot in a CPU profile of the product's start.
    const now = Date.now();
    for (const l of locks) if (l.ttlMs !== null && l.ttlSource === "pttl") clock.note(l.key, l.ttlMs, readAt, now);
  }

  /**
   * The feed: its first item is {resync: true} once the source is subscribed (the caller reads
   * its snapshot then); once the caller comes back from it, `onLive` runs and an empty batch
   * follows, so the hub's status says live at once rather than at the next write.
   */
  async *open(primary: RedisClient, signal: AbortSignal, onLive: () => void): AsyncGenerator<StoreChange> {
    if (this.cfg.notifications === "off") throw new Error("push notifications are off in the connection config");
    const nodes = scanNodes(primary);
    const subs: Redis[] = [];
    let due: ((keys: string[]) => void) | null = null;
    const clock = new ExpiryClock((keys) => due?.(keys));
    const attach = (add: (keys: string[]) => void) => {
      due = add;
      return () => (due = null);
    };
    // A subscriber that gave up for good (ioredis "end") ends the feed: the hub re-lists and
    // subscribes again, rather than following a feed that no longer hears anything.
    const ended = new AbortController();
    try {
      const { feed, name } = await this.source(nodes, subs, attach, AbortSignal.any([signal, ended.signal]));
      for (const s of subs) s.on("end", () => ended.abort());
      this.clock = clock;
      let first = true;
      for await (const change of feed) {
        yield change;
        if (first) {
          first = false;
          this.name = name;
          onLive();
          yield { keys: [] };
        }
      }
    } finally {
      this.name = null;
      this.clock = null;
      clock.stop();
      for (const s of subs) s.disconnect();
    }
  }

  /** Opens the first source that works, up to its first item (which it yields again). */
  private async source(
    nodes: Redis[],
    subs: Redis[],
    attach: (add: (keys: string[]) => void) => () => void,
    signal: AbortSignal,
  ): Promise<{ feed: AsyncGenerator<StoreChange>; name: string }> {
    let trackingWhy = this.trackingPaused && Date.now() < this.trackingPaused.until ? this.trackingPaused.why : null;
    if (this.cfg.notifications === "use" && !trackingWhy) {
      const prefixes = trackingPrefixes(this.cfg.patterns);
      const mine = nodes.map((node) => createSubscriber(this.cfg, node, true));
      for (const s of mine) s.on("error", () => {});
      const feed = trackingChanges(
        mine,
        {
          prefixes,
          wanted: this.wanted,
          maxKeysPerSec: TRACKING_MAX_KEYS_PER_SEC,
          onTooBusy: (err: TrackingTooBusy) => (this.trackingPaused = { until: Date.now() + TRACKING_PAUSE_MS, why: err.message }),
          attach,
        },
        signal,
      );
      try {
        const first = await feed.next();
        subs.push(...mine);
        const name = prefixes ? `client tracking (prefixes ${prefixes.join(", ")})` : "client tracking (all keys, filtered by pattern)";
        return { feed: prepend(first, feed), name };
      } catch (err) {
        for (const s of mine) s.disconnect();
        trackingWhy = `client tracking unavailable: ${(err as Error).message}`;
      }
    }
    try {
      for (const node of nodes) await ensureNotifications(node, this.cfg.notifications === "enable");
    } catch (err) {
      throw new Error([trackingWhy, (err as Error).message].filter(Boolean).join("; "));
    }
    const mine = nodes.map((node) => createSubscriber(this.cfg, node));
    for (const s of mine) s.on("error", () => {});
    subs.push(...mine);
    return { feed: keyspaceChanges(mine, this.db, this.wanted, signal, attach), name: "keyspace events" };
  }
}

/** The generator again, with an item already taken from it put back in front. */
async function* prepend<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}
