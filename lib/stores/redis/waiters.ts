// Waiters Redis knows only as a count. A Redisson client blocked in lock()/acquire() subscribes
// to the lock's channel and waits for the unlock message; nothing else in Redis names it (the
// fair lock is the exception: its queue names every waiter, so it is not counted here). The
// count is the number of subscribed connections — one per waiting Redisson client instance,
// however many of its threads wait — as PUBSUB NUMSUB reports it, plus PUBSUB SHARDNUMSUB for
// clients on sharded pub/sub (Redisson 3.52 on a Redis 7 cluster picks SSUBSCRIBE by default).
//
// Where: a subscriber is counted only on the node it is connected to. Standalone: the primary
// (and the replica, where Redisson's default subscriptionMode=SLAVE puts subscriptions). Cluster:
// every node serving the channel's slot — the channel carries the lock name's hash tag
// ({name}), so that is the shard that owns the lock key.

import "server-only";
import Redis, { Cluster } from "ioredis";
import calculateSlot from "cluster-key-slot";
import type { LockRecord } from "../../model";
import { REDISSON, prefixName } from "../../formats/redis/names";
import type { RedisClient } from "./client";

/** Channel names per request: a long list is split so one reply stays small. */
const BATCH = 500;
/**
 * One pattern that covers every channel a blocked Redisson client can listen on (the common
 * start of waiterChannel's prefixes, "redisson_"): other Redisson channels it lists are ignored
 * below, and one pattern is one command per node and kind of pub/sub each poll.
 */
const CHANNEL_PATTERN = `${commonStart([REDISSON.lockChannel, REDISSON.rwChannel, REDISSON.semaphoreChannel])}*`;

function commonStart(names: string[]): string {
  let n = 0;
  while (names.every((s) => n < s.length && s[n] === names[0][n])) n++;
  return names[0].slice(0, n);
}

/** The channel a blocked Redisson client of this lock listens on; null when none is known. */
export function waiterChannel(rec: LockRecord): string | null {
  if (rec.key.startsWith("base64:")) return null;
  switch (rec.format) {
    case "redisson.lock":
    case "redisson.fenced":
      return prefixName(REDISSON.lockChannel, rec.key);
    case "redisson.rwlock":
      return prefixName(REDISSON.rwChannel, rec.key);
    case "redisson.semaphore":
    case "redisson.permit-semaphore":
      return prefixName(REDISSON.semaphoreChannel, rec.key);
    default:
      return null;
  }
}

/** Nodes to ask about each channel: [node, its label, the channels it serves]. */
function nodesFor(primary: RedisClient, replica: Redis | null, channels: string[]): Array<[Redis, string, string[]]> {
  if (!(primary instanceof Cluster)) {
    return [primary as Redis, replica].filter((n): n is Redis => !!n).map((n) => [n, label(n), channels]);
  }
  const byAddr = new Map(primary.nodes("all").map((n) => [label(n), n]));
  const out = new Map<string, [Redis, string, string[]]>();
  for (const ch of channels) {
    for (const addr of primary.slots[calculateSlot(ch)] ?? []) {
      const node = byAddr.get(addr);
      if (!node) continue;
      const entry = out.get(addr) ?? [node, addr, []];
      entry[2].push(ch);
      out.set(addr, entry);
    }
  }
  return [...out.values()];
}

const label = (n: Redis) => `${n.options.host}:${n.options.port}`;

/** PUBSUB <sub> ch… → counts by channel; a server without the subcommand (SHARDNUMSUB before 7.0) counts none. */
async function numsub(node: Redis, sub: "NUMSUB" | "SHARDNUMSUB", channels: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < channels.length; i += BATCH) {
    let reply: unknown;
    try {
      reply = await node.call("PUBSUB", sub, ...channels.slice(i, i + BATCH));
    } catch (err) {
      if (sub === "SHARDNUMSUB" && /unknown subcommand|unknown command/i.test((err as Error).message)) return out;
      throw err;
    }
    const flat = reply as Array<string | number>;
    for (let j = 0; j + 1 < flat.length; j += 2) out.set(String(flat[j]), Number(flat[j + 1]));
  }
  return out;
}

/**
 * Redisson waiter channels with a subscriber now, on any node (PUBSUB CHANNELS and, on Redis 7,
 * SHARDCHANNELS). Most polls find none and stop here: two small commands a node instead of naming
 * every held lock's channel to NUMSUB (10k locks: 40 commands and ~1 MB of replies every poll).
 */
async function activeChannels(primary: RedisClient, replica: Redis | null): Promise<Set<string>> {
  const nodes = primary instanceof Cluster ? primary.nodes("all") : [primary as Redis, replica].filter((n): n is Redis => !!n);
  const out = new Set<string>();
  const list = async (node: Redis, sub: "CHANNELS" | "SHARDCHANNELS", pattern: string) => {
    try {
      for (const ch of (await node.call("PUBSUB", sub, pattern)) as string[]) out.add(String(ch));
    } catch (err) {
      if (sub === "SHARDCHANNELS" && /unknown subcommand|unknown command/i.test((err as Error).message)) return;
      throw err;
    }
  };
  await Promise.all(nodes.flatMap((n) => [list(n, "CHANNELS", CHANNEL_PATTERN), list(n, "SHARDCHANNELS", CHANNEL_PATTERN)]));
  return out;
}

/** Anonymous waiter counts of the Redisson locks among `locks` that have any, keyed by lock key. */
export async function redissonWaiters(
  primary: RedisClient,
  replica: Redis | null,
  locks: LockRecord[],
): Promise<Map<string, { count: number; source: string }>> {
  const result = new Map<string, { count: number; source: string }>();
  const active = await activeChannels(primary, replica);
  if (active.size === 0) return result;
  const channelOf = new Map<string, string>();
  for (const l of locks) {
    const ch = waiterChannel(l);
    if (ch && active.has(ch)) channelOf.set(l.key, ch);
  }
  if (channelOf.size === 0) return result;
  const totals = new Map<string, { n: number; where: Set<string> }>();
  await Promise.all(
    nodesFor(primary, replica, [...new Set(channelOf.values())]).map(async ([node, addr, chs]) => {
      const [plain, sharded] = await Promise.all([numsub(node, "NUMSUB", chs), numsub(node, "SHARDNUMSUB", chs)]);
      for (const [sub, counts] of [
        ["NUMSUB", plain],
        ["SHARDNUMSUB", sharded],
      ] as const) {
        for (const [ch, n] of counts) {
          if (n <= 0) continue;
          const t = totals.get(ch) ?? { n: 0, where: new Set<string>() };
          t.n += n;
          t.where.add(`PUBSUB ${sub} ${ch} (${addr})`);
          totals.set(ch, t);
        }
      }
    }),
  );
  for (const [key, ch] of channelOf) {
    const t = totals.get(ch);
    if (t)
      result.set(key, { count: t.n, source: `${[...t.where].join(" + ")}: Redisson clients blocked on this lock (one per client instance, not per thread)` });
  }
  return result;
}
