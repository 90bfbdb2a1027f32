// Server-assisted client tracking in broadcast mode (Redis ≥ 6): a push feed of changed keys
// that needs no server configuration. One RESP2 connection per node redirects its own
// invalidation messages to itself:
//   CLIENT ID → CLIENT TRACKING on REDIRECT <own id> BCAST [PREFIX p …] → SUBSCRIBE __redis__:invalidate
// Redis then publishes every key written, deleted, expired or evicted whose name starts with
// one of the prefixes (all keys without a prefix), whatever client wrote it. (ioredis drops the
// RESP3 `invalidate` push frames, so the RESP2 redirect form is the one that arrives.)
//
// Prefixes come from the connection's patterns (the literal text before the first wildcard)
// plus the helper keys LockDeck always reads. When a pattern starts with a wildcard (the default
// "*lock*" does), tracking covers every key and the feed filters by pattern; a guard ends the
// feed when that firehose exceeds maxKeysPerSec, and the adapter falls back to polling.

import type Redis from "ioredis";
import type { StoreChange } from "../../model";
import { keyFromBytes } from "../../keys";
import { globPrefix } from "../../glob";
import { REDISSON } from "../../formats/redis/names";
import { PY_SIGNAL_PREFIX } from "../../formats/redis/token";
import { ChangeFeed } from "../change-feed";

const CHANNEL = "__redis__:invalidate";
const COALESCE_MS = 15;
const READY_TIMEOUT_MS = 10_000;

/** Helper keys LockDeck reads whatever the patterns say (lib/formats/redis/redisson.ts isHelperKey). */
const HELPER_PREFIXES = [REDISSON.queue + ":", REDISSON.timeout + ":", REDISSON.token + ":", PY_SIGNAL_PREFIX];

/**
 * The PREFIX list for CLIENT TRACKING, or null for "every key". Redis refuses two prefixes where
 * one starts with the other, so the longer one goes (the shorter covers it).
 */
export function trackingPrefixes(patterns: string[]): string[] | null {
  const all = [...patterns.map(globPrefix), ...HELPER_PREFIXES];
  if (all.some((p) => p === "")) return null;
  const kept: string[] = [];
  for (const p of [...new Set(all)].sort()) if (!kept.some((k) => p.startsWith(k))) kept.push(p);
  return kept;
}

export class TrackingTooBusy extends Error {}

export interface TrackingOptions {
  prefixes: string[] | null;
  wanted: (key: string) => boolean;
  /** Invalidated keys per second (before filtering) above which the feed gives up. */
  maxKeysPerSec: number;
  /** Called when the guard trips (the feed then ends). */
  onTooBusy: (err: TrackingTooBusy) => void;
  /** Extra keys to re-read (the expiry clock), merged into the same feed. */
  attach?: (add: (keys: string[]) => void) => () => void;
}

/**
 * Yields batches of changed keys from every node until the signal aborts or the guard trips.
 * The first item, once tracking is on and subscribed on every node, is {resync: true}: the
 * caller reads its snapshot then, and what changes meanwhile comes next. After a reconnect the
 * node is set up again and the feed yields {resync: true} (invalidations sent meanwhile were lost).
 */
export async function* trackingChanges(subscribers: Redis[], o: TrackingOptions, signal: AbortSignal): AsyncGenerator<StoreChange> {
  const feed = new ChangeFeed(COALESCE_MS);
  const window = { start: Date.now(), keys: 0 };
  let tripped = false;
  const onMessage = (channel: Buffer, keys: Buffer[] | Buffer | null) => {
    if (tripped || channel.toString() !== CHANNEL) return;
    // null: the server flushed (FLUSHALL/FLUSHDB) — everything may have changed.
    if (keys === null || !Array.isArray(keys)) return feed.needResync();
    const now = Date.now();
    if (now - window.start >= 1_000) {
      window.start = now;
      window.keys = 0;
    }
    window.keys += keys.length;
    if (window.keys > o.maxKeysPerSec) {
      tripped = true;
      const err = new TrackingTooBusy(`client tracking sent more than ${o.maxKeysPerSec} invalidated keys in a second; polling instead`);
      o.onTooBusy(err);
      return feed.needResync(); // wakes the reader, which sees `tripped` and ends
    }
    const changed: string[] = [];
    for (const k of keys) {
      const key = keyFromBytes(k);
      if (o.wanted(key)) changed.push(key);
    }
    if (changed.length) feed.add(changed);
  };
  const cleanups: Array<() => void> = [];
  try {
    await Promise.all(
      subscribers.map(async (sub) => {
        let first = true;
        const setUp = async () => {
          try {
            await track(sub, o.prefixes);
            if (!first) feed.needResync();
            first = false;
          } catch (err) {
            if (first) throw err;
            // A reconnect that could not track again: the feed cannot vouch for anything now.
            feed.fail(err as Error);
          }
        };
        const onReconnect = () => void setUp();
        sub.on("messageBuffer", onMessage);
        cleanups.push(() => {
          sub.off("messageBuffer", onMessage);
          sub.off("ready", onReconnect);
        });
        if (sub.status !== "ready") await readyWithin(sub, READY_TIMEOUT_MS, signal);
        await setUp();
        sub.on("ready", onReconnect);
      }),
    );
    if (o.attach) cleanups.push(o.attach((keys) => feed.add(keys)));
    feed.needResync();
    for await (const change of feed.drain(signal)) {
      if (tripped) return;
      yield change;
    }
  } finally {
    for (const c of cleanups) c();
  }
}

/** Resolves when the connection is ready; rejects after `ms`, on abort, or if it ends first. */
function readyWithin(sub: Redis, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      sub.off("ready", onReady);
      sub.off("end", onEnd);
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done();
    const onEnd = () => done(new Error("tracking connection closed before it was ready"));
    const onAbort = () => done(new Error("aborted"));
    const timer = setTimeout(() => done(new Error(`tracking connection not ready after ${ms} ms (${sub.status})`)), ms);
    sub.once("ready", onReady);
    sub.once("end", onEnd);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

async function track(sub: Redis, prefixes: string[] | null): Promise<void> {
  const id = String(await sub.client("ID"));
  const args = ["TRACKING", "on", "REDIRECT", id, "BCAST", ...(prefixes ?? []).flatMap((p) => ["PREFIX", p])];
  await sub.call("CLIENT", ...args);
  await sub.subscribe(CHANNEL);
}
