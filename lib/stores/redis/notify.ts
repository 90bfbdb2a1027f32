// Keyspace notifications: a push feed of changed keys, one subscriber per node.
// They are server config (notify-keyspace-events). LockDeck only turns them on when the
// connection says "enable"; with "use" it subscribes only if they are already on.

import type Redis from "ioredis";
import type { StoreChange } from "../../model";
import { keyFromBytes } from "../../keys";
import { ChangeFeed } from "../change-feed";

/** Classes a lock view needs: generic (del, expire), string, hash, list, zset, expired. */
const NEEDED = ["g", "$", "h", "l", "z", "x"];

export function notificationsCover(flags: string): boolean {
  if (!flags.includes("K")) return false;
  return flags.includes("A") || NEEDED.every((c) => flags.includes(c));
}

export class NotificationsUnavailable extends Error {}

/** Checks (and with enable=true, turns on) keyspace events on a node. */
export async function ensureNotifications(node: Redis, enable: boolean): Promise<void> {
  let flags: string;
  try {
    const reply = (await node.config("GET", "notify-keyspace-events")) as string[];
    flags = reply[1] ?? "";
  } catch (err) {
    throw new NotificationsUnavailable(`cannot read notify-keyspace-events: ${(err as Error).message}`);
  }
  if (notificationsCover(flags)) return;
  if (!enable) throw new NotificationsUnavailable(`keyspace events are off on the server (notify-keyspace-events="${flags}")`);
  const merged = Array.from(new Set((flags + "KA").split(""))).join("");
  await node.config("SET", "notify-keyspace-events", merged);
}

const COALESCE_MS = 15;

/**
 * Yields batches of changed keys from every subscriber until the signal aborts. The first
 * item, once every subscription is confirmed, is {resync: true}: writes between the caller's
 * snapshot and the subscription would otherwise be lost. After a subscriber reconnects it
 * yields {resync: true} again: events sent meanwhile were lost.
 */
export async function* keyspaceChanges(
  subscribers: Redis[],
  db: number,
  wanted: (key: string) => boolean,
  signal: AbortSignal,
  /** Extra keys to re-read (the expiry clock), merged into the same feed. */
  attach?: (add: (keys: string[]) => void) => () => void,
): AsyncGenerator<StoreChange> {
  const prefix = Buffer.from(`__keyspace@${db}__:`);
  const feed = new ChangeFeed(COALESCE_MS);
  const onMessage = (_pattern: Buffer, channel: Buffer) => {
    const key = keyFromBytes(channel.subarray(prefix.length));
    if (wanted(key)) feed.add([key]);
  };
  const cleanups: Array<() => void> = [];
  try {
    for (const sub of subscribers) {
      let readyOnce = false;
      const onReady = () => {
        if (readyOnce) feed.needResync();
        readyOnce = true;
      };
      sub.on("pmessageBuffer", onMessage);
      sub.on("ready", onReady);
      cleanups.push(() => {
        sub.off("pmessageBuffer", onMessage);
        sub.off("ready", onReady);
      });
      await sub.psubscribe(`__keyspace@${db}__:*`);
      readyOnce = true;
    }
    if (attach) cleanups.push(attach((keys) => feed.add(keys)));
    feed.needResync();
    yield* feed.drain(signal);
  } finally {
    for (const c of cleanups) c();
  }
}
