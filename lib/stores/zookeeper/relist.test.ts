// Sessions lost and replaced behind a live hub (real ZooKeeper, through the fault proxy):
//   - an expired session costs exactly one re-list (reads counted on the wire, each read of a
//     multiRead on its own). Its
//     replacement's first "connected" is not a reconnect, so it must not ask for a second one
//     (issue 13: at 100k nodes a console whose session expired walked every root twice more
//     after going live, ~240k reads in ~30 s);
//   - a connection lost in the middle of a reply frame: the session must reconnect (the
//     library used to read the stale half frame as the new connection's handshake answer).

import { describe, expect, it } from "vitest";
import { CreateMode, ZkSession } from "./client";
import { ensurePath, zookeeperFixture } from "../../../test/support/zookeeper";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { endSession, readsSent, tapZooKeeper, type ZooKeeperWire } from "../../../test/support/zookeeper-wire";
import { waitFor } from "../../../scripts/servers/process";
import { Hub } from "../../hub/hub";
import type { ZooKeeperConnectionConfig } from "./config";
import { EventBus } from "../../hub/bus";

const zk = zookeeperFixture();

const DIRS = 150;
const PER_DIR = 3;
/**
 * One full walk, in reads (each read of a multiRead counted, so batched or alone alike): the
 * root's getData + getChildren, then per lock dir getData + getChildren + one getData per
 * contender; and its sync.
 */
const WALK = 1 + 2 + DIRS * (2 + PER_DIR);
/** A changed lock's re-read: the dir's getData + getChildren, and its contenders (one more than before). */
const REREAD_AT_MOST = 2 + PER_DIR + 1;

/** Curator's node name prefix: "_c_" + a UUID. */
const guid = (n: number) => `_c_6c2e4b7d-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

/** Reads of the walk: not the health check's exists("/") nor the ensemble's /zookeeper/config (holder liveness). */
const reads = (wire: ZooKeeperWire) => readsSent(wire).filter((r) => r.path !== "/zookeeper/config" && !(r.op === "exists" && r.path === "/")).length;

/** DIRS Curator lock dirs × PER_DIR contenders under root, and a hub live on them through a tapped proxy. */
async function liveHub(root: string, over: Partial<ZooKeeperConnectionConfig> = {}) {
  await ensurePath(zk.raw, root);
  await zk.raw.createAll(Array.from({ length: DIRS }, (_, d) => ({ path: `${root}/job-${d}`, mode: CreateMode.PERSISTENT })));
  for (let i = 0; i < PER_DIR; i++) {
    await zk.raw.createAll(
      Array.from({ length: DIRS }, (_, d) => ({
        path: `${root}/job-${d}/${guid(d * PER_DIR + i)}-lock-`,
        data: Buffer.from("10.1.2.3"),
        mode: CreateMode.EPHEMERAL_SEQUENTIAL,
      })),
    );
  }
  const proxy = await startFaultProxy(zk.server.port);
  const wire = tapZooKeeper(proxy);
  const bus = new EventBus();
  const hub = new Hub("zk", zk.adapter({ connectString: proxy.address, roots: [root], ...over }), bus);
  hub.start();
  const stop = async () => (await hub.stop(), await proxy.close());
  try {
    await waitFor(async () => hub.statusEvent().mode === "live" && hub.statusEvent().lockCount === DIRS, {
      timeoutMs: 30_000,
      what: `the hub live with ${DIRS} locks`,
    });
    // The first snapshot is exactly one walk (the formula above is what a walk costs), and its
    // watches armed: in SetWatches with multiRead (ZooKeeper 3.8 here), else by the reads.
    expect(reads(wire) + wire.requests.filter((r) => r.op === "sync").length).toBe(WALK);
    expect(wire.requests.filter((r) => r.op === "setWatches").length).toBeGreaterThanOrEqual(1);
  } catch (err) {
    await stop();
    throw err;
  }
  /** A new contender in job-d, and the hub's upsert for it: the feed handles batches in order, so it comes after any re-list asked for before. */
  const change = async (d: number, n: number) => {
    let seen = false;
    const off = bus.subscribe((e) => {
      if (e.type === "upsert" && e.data.lock.key === `${root}/job-${d}` && e.data.lock.waiters.length === PER_DIR - 1 + n) seen = true;
    });
    try {
      await zk.raw.create(`${root}/job-${d}/${guid(DIRS * PER_DIR + d * 10 + n)}-lock-`, Buffer.from("10.1.2.4"), CreateMode.EPHEMERAL_SEQUENTIAL);
      await waitFor(async () => seen, { timeoutMs: 30_000, what: `the upsert of ${root}/job-${d}` });
    } finally {
      off();
    }
  };
  /** Cuts LockDeck off and ends its session on the server; restored, it hears "expired" and opens a new one. */
  const expire = async () => {
    const before = wire.sessions.at(-1)!;
    proxy.cut();
    await waitFor(async () => (await endSession(zk.server.address, before.credentials)) === "expired", {
      timeoutMs: 15_000,
      what: "the session gone on the server",
    });
    const sessions = wire.sessions.length;
    proxy.restore();
    await waitFor(async () => wire.sessions.length > sessions, { timeoutMs: 15_000, what: "a new session" });
  };
  return { proxy, wire, change, expire, stop };
}

describe("reads behind a live hub", () => {
  it("an expired session is followed by one re-list of the roots, not two", async () => {
    const h = await liveHub("/locks/relist");
    try {
      const atExpiry = reads(h.wire);
      await h.expire();
      // The new session's re-list reads job-0 before the change below: the change is seen by
      // the feed, after any further re-list asked for meanwhile.
      await waitFor(async () => reads(h.wire) - atExpiry >= WALK - 1, { timeoutMs: 30_000, what: "the re-list on the new session" });
      await h.change(0, 1);
      // One walk (its sync not counted) + the changed lock's re-read.
      expect(reads(h.wire) - atExpiry).toBeLessThanOrEqual(WALK - 1 + REREAD_AT_MOST);
    } finally {
      await h.stop();
    }
  }, 90_000);

  it("a re-read cut off by the expiry: the hub's own re-list is the only one", async () => {
    // cons goes through the proxy too: cut, every holder's liveness turns "unknown", and that
    // tick alone re-reads every lock (see the report on issue 13); not what this test is about.
    const h = await liveHub("/locks/relist-cut", { livenessCheckMs: 0 });
    try {
      // Replies held back: a change's re-read is sent, and cut off before it is answered.
      h.proxy.delay(3_000, "down");
      const sent = h.wire.requests.length;
      const change = h.change(0, 1);
      const listedSince = () => readsSent({ ...h.wire, requests: h.wire.requests.slice(sent) }).some((r) => r.op === "getChildren2" || r.op === "getChildren");
      await waitFor(async () => listedSince(), {
        timeoutMs: 15_000,
        what: "the re-read sent",
      });
      const atCut = reads(h.wire);
      await h.expire();
      await change; // seen by the re-list
      await h.change(1, 1);
      // One walk (its sync not counted; job-0's new contender read too) + job-1's re-read.
      expect(reads(h.wire) - atCut).toBeLessThanOrEqual(WALK - 1 + 1 + REREAD_AT_MOST);
    } finally {
      await h.stop();
    }
  }, 90_000);
});

describe("a reply cut off mid-frame", () => {
  it("the session reconnects and reads on; the partial frame is not read as the next connection's answer", async () => {
    await ensurePath(zk.raw, "/locks/big");
    await zk.raw.setData("/locks/big", Buffer.alloc(600_000, "x"), 0);
    const proxy = await startFaultProxy(zk.server.port);
    let cutAt = 0;
    proxy.tap((dir, chunk, conn) => {
      // Cut the first connection once part of the 600 kB reply has reached the client.
      if (dir !== "down" || conn !== 1 || cutAt > 0) return;
      if (chunk.length <= 1_000) return;
      cutAt = chunk.length;
      setImmediate(() => proxy.reset());
    });
    const session = new ZkSession({ connectString: proxy.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
    try {
      await session.connected();
      await expect(session.getData("/locks/big")).rejects.toThrow(/CONNECTION_LOSS|no answer/);
      expect(cutAt).toBeGreaterThan(0);
      await waitFor(async () => session.state === "connected", { timeoutMs: 15_000, what: "the session reconnected" });
      expect((await session.getData("/locks/big")).data.length).toBe(600_000);
    } finally {
      session.close();
      await proxy.close();
    }
  }, 60_000);
});
