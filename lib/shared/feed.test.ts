// One reading replica per connection, on a real PostgreSQL and a real Redis: three "replicas"
// (each its own FeedSession, adapter, bus and hub, as three processes would have) watch one
// Redis. One is elected reader; the others follow its feed and see every change; the Redis
// command count grows with one reader, not three; the reader's session dies → another takes
// over within the election period and followers keep up; PostgreSQL stops → everyone reads
// Redis itself and the view carries on.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplicaRig, type Replica } from "../../test/support/replicas";
import { waitFor } from "../../scripts/servers/process";
import { ELECT_MS } from "./feed";
import { lockDetail } from "../api/detail";

let rig: ReplicaRig;
let replicas: Replica[];
const replica = (name: string) => rig.replica(name, { patterns: ["feed:*"] });

async function commands(): Promise<number> {
  const info = await rig.redis.info("commandstats");
  return [...info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].filter(([, c]) => c !== "info").reduce((n, m) => n + Number(m[2]), 0);
}

beforeAll(async () => {
  rig = await ReplicaRig.start();
  replicas = rig.replicas;
}, 60_000);

afterAll(async () => {
  await rig?.stop();
});

const roles = () => replicas.filter((r) => r.session.generation >= 0).map((r) => r.rep.role);
const holders = (r: Replica, key: string) =>
  r.hub
    .get(key)
    ?.holders.map((h) => h.id)
    .join(",") ?? null;

describe("one reading replica per connection", () => {
  it("one replica reads Redis, the others follow its feed; a change reaches every replica; Redis sees one reader's commands", async () => {
    await rig.redis.set("feed:lock:a", "tok-a-0123456789", "PX", 120_000);
    const [a, b, c] = [replica("a"), replica("b"), replica("c")];
    await waitFor(async () => roles().filter((x) => x === "leader").length === 1 && roles().filter((x) => x === "follower").length === 2, {
      timeoutMs: 15_000,
      what: "one leader, two followers",
    });
    for (const r of [a, b, c])
      await waitFor(async () => r.hub.get("feed:lock:a") !== undefined && r.hub.statusEvent().status === "ok", {
        timeoutMs: 15_000,
        what: `${r.name} sees the lock`,
      });
    const leader = replicas.find((r) => r.rep.role === "leader")!;
    // The status line names the replica that reads (from the next health check, every 3 s).
    for (const r of replicas.filter((x) => x !== leader))
      await waitFor(async () => !!r.hub.statusEvent().server?.includes(`read by replica ${leader.name}`), {
        timeoutMs: 10_000,
        what: `${r.name} names the reader`,
      });

    // A change in Redis, seen by the followers through the feed.
    const before = await commands();
    const started = Date.now();
    await rig.redis.set("feed:lock:b", "tok-b-0123456789", "PX", 120_000);
    for (const r of [a, b, c]) await waitFor(async () => r.hub.get("feed:lock:b") !== undefined, { timeoutMs: 5_000, what: `${r.name} sees lock b` });
    expect(Date.now() - started).toBeLessThan(2_000);
    await rig.redis.del("feed:lock:a");
    for (const r of [a, b, c]) await waitFor(async () => r.hub.get("feed:lock:a") === undefined, { timeoutMs: 5_000, what: `${r.name} sees lock a go` });
    // Only the leader re-read: the followers' hubs asked PostgreSQL, not Redis. One replica
    // alone re-reads a changed key with a handful of commands; three must not triple that.
    const used = (await commands()) - before;
    expect(used).toBeLessThan(40);
  }, 60_000);

  it("followers leave the store alone: only the reader asks Redis for the waiters it only counts (PUBSUB)", async () => {
    const pubsub = async () =>
      [...(await rig.redis.info("commandstats")).matchAll(/^cmdstat_pubsub\|(?:channels|shardchannels):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const before = await pubsub();
    await new Promise((r) => setTimeout(r, 6_000));
    const used = (await pubsub()) - before;
    // One reader probes every 2 s with two commands: about 6 in 6 s. Three replicas each
    // probing (old code: the followers too) send about 18.
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(9);
  }, 30_000);

  it("a follower's lock page shows the store's TTL as of now, not the reader's last read of the key", async () => {
    const key = "feed:lock:ttl";
    await rig.redis.set(key, "tok-ttl-0123456789", "PX", 60_000);
    const follower = replicas.find((r) => r.rep.role === "follower")!;
    await waitFor(async () => follower.hub.get(key) !== undefined, { timeoutMs: 5_000, what: "the follower sees the lock" });
    // Nothing changes the key meanwhile, so the reader re-reads nothing: its record keeps the TTL
    // read when the lock was taken (old code showed that, ~60 000 ms).
    await new Promise((r) => setTimeout(r, 3_000));
    const shown = (await lockDetail({ hub: follower.hub }, key))!.lock.ttlMs!;
    const store = await rig.redis.pttl(key);
    expect(Math.abs(shown - store), `shown ${shown} ms, the store's PTTL ${store} ms`).toBeLessThan(1_000);
  }, 30_000);

  it("the reading replica's session dies: another takes over within the election period, followers keep up", async () => {
    const leader = replicas.find((r) => r.rep.role === "leader")!;
    const others = replicas.filter((r) => r !== leader);
    // Redis records no start time: the first sighting is the reader's, and must survive it.
    const firstSeen = others[0].hub.get("feed:lock:b")?.holders[0]?.since;
    expect(firstSeen).toBeTruthy();
    // As kill -9 does: the session closes, the advisory lock frees; the process stops reading.
    await rig.kill(leader);
    const gone = Date.now();
    await waitFor(async () => others.some((r) => r.rep.role === "leader"), { timeoutMs: 3 * ELECT_MS + 2_000, what: "a new leader" });
    expect(Date.now() - gone).toBeLessThan(10_000);
    const follower = others.find((r) => r.rep.role === "follower")!;
    await rig.redis.set("feed:lock:c", "tok-c-0123456789", "PX", 120_000);
    await waitFor(async () => holders(follower, "feed:lock:c") !== null && follower.hub.statusEvent().status === "ok", {
      timeoutMs: 10_000,
      what: "the follower sees lock c through the new leader",
    });
    // The new reader has read Redis itself by now (lock c came through its feed): the first
    // sighting of lock b's holder is still the one its predecessor made.
    for (const r of others) expect(r.hub.get("feed:lock:b")?.holders[0]?.since).toBe(firstSeen);
  }, 60_000);

  it("PostgreSQL stops: every replica reads Redis itself and the view carries on; back: one reader again", async () => {
    await rig.pg.pause();
    try {
      await waitFor(async () => replicas.every((r) => r.rep.role === "solo"), { timeoutMs: 3 * ELECT_MS + 5_000, what: "all solo" });
      await rig.redis.set("feed:lock:d", "tok-d-0123456789", "PX", 120_000);
      for (const r of replicas)
        await waitFor(async () => r.hub.get("feed:lock:d") !== undefined, { timeoutMs: 10_000, what: `${r.name} sees lock d without PostgreSQL` });
    } finally {
      await rig.pg.start();
    }
    await waitFor(async () => roles().filter((x) => x === "leader").length === 1, { timeoutMs: 3 * ELECT_MS + 10_000, what: "one leader again" });
    // The new leader (it was reading Redis itself) publishes at once: followers see lock d,
    // made during the outage, and what changes next.
    await rig.redis.set("feed:lock:e", "tok-e-0123456789", "PX", 120_000);
    for (const r of replicas)
      await waitFor(async () => r.hub.get("feed:lock:d") !== undefined && r.hub.get("feed:lock:e") !== undefined, {
        timeoutMs: 10_000,
        what: `${r.name} sees locks d and e`,
      });
    await rig.redis.del("feed:lock:d");
    for (const r of replicas)
      await waitFor(async () => r.hub.get("feed:lock:d") === undefined && r.hub.statusEvent().status === "ok", {
        timeoutMs: 10_000,
        what: `${r.name} sees lock d go`,
      });
  }, 60_000);
});
