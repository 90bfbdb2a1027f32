// Ages tick against the store's time on every store, with real clients holding real locks and
// the hub following each store's live feed. Nothing changes while the lock is held, yet:
//   - the view keeps being confirmed (a health check while the feed is live), so "confirmed
//     N s ago" stays small and nothing is stale;
//   - "held" = now − the holding's start, where the start is the store's own time where it
//     records one (ZooKeeper ctime, labelled "store") and LockDeck's first sighting elsewhere
//     (labelled "first-seen"); it grows with the clock, it never freezes at the last change.
// Truth per store: Redis TIME at the SET; ZooKeeper's clock (the ctime of a probe node made
// now) against the holder's ctime; the etcdctl / api.Lock programs' own acquisition moments.

import Redis from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { startZooKeeper, type ZooKeeperServer } from "../../scripts/servers/zookeeper";
import { startEtcd, type EtcdServer } from "../../scripts/servers/etcd";
import { startConsul, type ConsulServer } from "../../scripts/servers/consul";
import { waitFor } from "../../scripts/servers/process";
import { startHold, type HoldProcess } from "../../scripts/capture/hold";
import { HOLD_JVM_FLAGS, prepareCurator } from "../../scripts/capture/curator/prepare";
import { etcdctlLock, interrupt } from "../../scripts/capture/etcd/hold";
import { holdApiLock, prepareConsulCapture, stderrValue } from "../../scripts/capture/consul/hold";
import { EventBus, type SequencedEvent } from "./bus";
import { Hub } from "./hub";
import type { LockRecord, StoreAdapter } from "../model";
import { RedisAdapter } from "../stores/redis/adapter";
import { RedisConnectionSchema } from "../stores/redis/config";
import { ZooKeeperAdapter } from "../stores/zookeeper/adapter";
import { ZooKeeperConnectionSchema } from "../stores/zookeeper/config";
import { ZkSession } from "../stores/zookeeper/client";
import { EtcdAdapter } from "../stores/etcd/adapter";
import { EtcdConnectionSchema } from "../stores/etcd/config";
import { ConsulAdapter } from "../stores/consul/adapter";
import { ConsulConnectionSchema } from "../stores/consul/config";

/** First sighting through a live feed, and two processes' clocks on one machine. */
const TOLERANCE_MS = 500;
/** How long the lock is held with nothing changing. */
const QUIET_MS = 5_000;

let redis: RedisServer;
let zk: ZooKeeperServer;
let etcd: EtcdServer;
let consul: ConsulServer;
let consulHold: string;
beforeAll(async () => {
  [redis, zk, etcd, consul, consulHold] = await Promise.all([
    startRedis({ notifyKeyspaceEvents: "KA" }),
    startZooKeeper(),
    startEtcd(),
    startConsul(),
    prepareConsulCapture(),
    prepareCurator(),
  ]);
}, 45 * 60_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), zk?.stop(), etcd?.stop(), consul?.stop()]);
});

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function follow(id: string, adapter: StoreAdapter) {
  const bus = new EventBus();
  const events: SequencedEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const hub = new Hub(id, adapter, bus);
  hub.start();
  cleanup.push(() => hub.stop());
  return { hub, events };
}

/**
 * Holds `key` quietly for QUIET_MS and returns the held age the console shows then, after
 * checking that the view was confirmed live all along and the record did not change.
 */
async function quietHold(hub: Hub, events: SequencedEvent[], key: string): Promise<{ heldMs: number; rec: LockRecord; now: number }> {
  await waitFor(async () => hub.statusEvent().mode === "live" && !!hub.get(key)?.holders.length, { timeoutMs: 20_000, what: `${key} held, feed live` });
  const since = hub.get(key)!.holders[0].since;
  const upsertsBefore = events.filter((e) => e.type === "upsert" && e.data.lock.key === key).length;
  const confirmations = new Set<string>();
  const end = Date.now() + QUIET_MS;
  while (Date.now() < end) {
    const f = hub.freshness();
    expect(f.stale, "stale while the feed is live").toBe(false);
    expect(f.confirmedAgeMs!, "confirmed recently").toBeLessThan(3_000 + 1_500);
    confirmations.add(f.confirmedAt!);
    await new Promise((r) => setTimeout(r, 250));
  }
  // Confirmed several times over the quiet period, though nothing changed.
  expect(confirmations.size).toBeGreaterThanOrEqual(2);
  expect(events.filter((e) => e.type === "upsert" && e.data.lock.key === key).length).toBe(upsertsBefore);
  const rec = hub.get(key)!;
  expect(rec.holders[0].since).toBe(since);
  const f = hub.freshness();
  const now = Date.parse(f.now);
  return { heldMs: now - Date.parse(since!), rec, now };
}

describe("ages against the store's clock, live feed, nothing changing", () => {
  it("Redis: held = now − first sighting, compared with Redis TIME", async () => {
    const raw = new Redis(redis.url);
    cleanup.push(() => raw.disconnect());
    const { hub, events } = follow("r", new RedisAdapter("r", RedisConnectionSchema.parse({ id: "r", kind: "redis", url: redis.url })));
    await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 15_000, what: "live" });
    const storeMs = async () => {
      const [s, us] = await raw.time();
      return Number(s) * 1000 + Math.floor(Number(us) / 1000);
    };
    const setAt = await storeMs();
    await raw.set("ages:lock", "tok-ages-0123456789", "PX", 60_000);
    const { heldMs, rec } = await quietHold(hub, events, "ages:lock");
    const storeHeld = (await storeMs()) - setAt;
    expect(rec.holders[0].sinceSource).toBe("first-seen");
    expect(heldMs).toBeGreaterThanOrEqual(QUIET_MS);
    expect(Math.abs(heldMs - storeHeld), `shown ${heldMs} ms, Redis clock ${storeHeld} ms`).toBeLessThanOrEqual(TOLERANCE_MS);
  }, 60_000);

  it("ZooKeeper (Curator): held = now − the node's ctime, compared with ZooKeeper's clock", async () => {
    const { hub, events } = follow(
      "z",
      new ZooKeeperAdapter("z", ZooKeeperConnectionSchema.parse({ id: "z", kind: "zookeeper", connectString: zk.address, roots: ["/locks"] })),
    );
    const { java, jar } = await prepareCurator();
    const p: HoldProcess = startHold("curator mutex ages", java, [...HOLD_JVM_FLAGS, "-jar", jar, "hold", zk.address, "mutex", "/locks/ages", "1"]);
    cleanup.push(() => p.kill());
    await p.waitForLine("READY", 60_000);
    const { heldMs, rec, now } = await quietHold(hub, events, "/locks/ages");
    // ZooKeeper's "now": the ctime of a node created this moment.
    const raw = new ZkSession({ connectString: zk.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
    cleanup.push(() => raw.close());
    await raw.connected();
    const probe = await raw.create("/ages-probe", Buffer.alloc(0), 1 /* ephemeral */);
    const zkNow = Number((await raw.getData(probe)).stat.ctime);
    const storeHeld = zkNow - Date.parse(rec.holders[0].since!);
    expect(rec.holders[0].sinceSource).toBe("store");
    expect(heldMs).toBeGreaterThanOrEqual(QUIET_MS);
    expect(Math.abs(heldMs + (zkNow - now) - storeHeld), `shown ${heldMs} ms at ${now}, ZooKeeper clock ${storeHeld} ms at ${zkNow}`).toBeLessThanOrEqual(
      TOLERANCE_MS,
    );
  }, 90_000);

  it("etcd (etcdctl lock): held = now − first sighting, compared with when etcdctl got the lock", async () => {
    const { hub, events } = follow(
      "e",
      new EtcdAdapter("e", EtcdConnectionSchema.parse({ id: "e", kind: "etcd", endpoints: [etcd.endpoint], prefixes: ["ages/"] })),
    );
    await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 15_000, what: "live" });
    const p = etcdctlLock(etcd.endpoint, "ages/job", 10);
    cleanup.push(() => interrupt(p).catch(() => p.kill()));
    await waitFor(async () => p.lines().some((l) => l.startsWith("ages/job/")), { timeoutMs: 20_000, what: "etcdctl holding" });
    const gotAt = p.timedLines().find((l) => l.line.startsWith("ages/job/"))!.at;
    const { heldMs, rec, now } = await quietHold(hub, events, "ages/job/");
    expect(rec.holders[0].sinceSource).toBe("first-seen");
    expect(Math.abs(heldMs - (now - gotAt)), `shown ${heldMs} ms, etcdctl ${now - gotAt} ms`).toBeLessThanOrEqual(TOLERANCE_MS);
  }, 60_000);

  it("Consul (api.Lock): held = now − first sighting, compared with when api.Lock acquired", async () => {
    const { hub, events } = follow(
      "c",
      new ConsulAdapter("c", ConsulConnectionSchema.parse({ id: "c", kind: "consul", url: consul.url, prefixes: ["locks/"] })),
    );
    await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 15_000, what: "live" });
    const p = holdApiLock(consulHold, consul.addr, "locks/ages");
    cleanup.push(() => p.kill());
    await p.waitForLine("READY", 30_000);
    const acquiredAt = Number(stderrValue(p, "acquiredAtMs"));
    const { heldMs, rec, now } = await quietHold(hub, events, "locks/ages");
    expect(rec.holders[0].sinceSource).toBe("first-seen");
    expect(Math.abs(heldMs - (now - acquiredAt)), `shown ${heldMs} ms, api.Lock ${now - acquiredAt} ms`).toBeLessThanOrEqual(TOLERANCE_MS);
  }, 60_000);
});
