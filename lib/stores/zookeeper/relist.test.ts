// Sessions lost and replaced behind a live hub (real ZooKeeper, through the fault proxy):
//   - an expired session costs exactly one re-list (requests counted on the wire). Its
//     replacement's first "connected" is not a reconnect, so it must not ask for a second one
//     (issue 13: at 100k nodes a console whose session expired walked every root twice more
//     after going live, ~240k reads in ~30 s);
//   - a connection lost in the middle of a reply frame: the session must reconnect (the
//     library used to read the stale half frame as the new connection's handshake answer).

import { describe, expect, it } from "vitest";
import { CreateMode, ZkSession } from "./client";
import { ensurePath, zookeeperFixture } from "../../../test/support/zookeeper";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { endSession, tapZooKeeper, type ZooKeeperWire } from "../../../test/support/zookeeper-wire";
import { waitFor } from "../../../scripts/servers/process";
import { Hub } from "../../hub/hub";
import { EventBus } from "../../hub/bus";

const zk = zookeeperFixture();

const ROOT = "/locks/relist";
const DIRS = 150;
const PER_DIR = 3;
/** One full walk: sync, the root's getData + getChildren, then per lock dir getData + getChildren + one getData per contender. */
const WALK = 1 + 2 + DIRS * (2 + PER_DIR);

/** Curator's node name prefix: "_c_" + a UUID. */
const guid = (n: number) => `_c_6c2e4b7d-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

const reads = (wire: ZooKeeperWire) => wire.requests.filter((r) => r.op === "getData" || r.op === "getChildren2" || r.op === "getChildren").length;

describe("reads behind a live hub", () => {
  it("an expired session is followed by one re-list of the roots, not two", async () => {
    await ensurePath(zk.raw, ROOT);
    await zk.raw.createAll(Array.from({ length: DIRS }, (_, d) => ({ path: `${ROOT}/job-${d}`, mode: CreateMode.PERSISTENT })));
    for (let i = 0; i < PER_DIR; i++) {
      await zk.raw.createAll(
        Array.from({ length: DIRS }, (_, d) => ({
          path: `${ROOT}/job-${d}/${guid(d * PER_DIR + i)}-lock-`,
          data: Buffer.from("10.1.2.3"),
          mode: CreateMode.EPHEMERAL_SEQUENTIAL,
        })),
      );
    }
    const proxy = await startFaultProxy(zk.server.port);
    const wire = tapZooKeeper(proxy);
    const bus = new EventBus();
    const hub = new Hub("zk", zk.adapter({ connectString: proxy.address, roots: [ROOT] }), bus);
    try {
      hub.start();
      const live = () => hub.statusEvent().mode === "live" && hub.statusEvent().lockCount === DIRS;
      await waitFor(async () => live(), { timeoutMs: 30_000, what: `the hub live with ${DIRS} locks` });
      // The first snapshot is exactly one walk (the formula above is what a walk costs).
      expect(wire.requests.filter((r) => r.op !== "ping" && r.op !== "auth")).toHaveLength(WALK);

      // End LockDeck's session on the server while it is cut off; on reconnect it hears "expired".
      const [before] = wire.sessions;
      proxy.cut();
      await waitFor(async () => (await endSession(zk.server.address, before.credentials)) === "expired", {
        timeoutMs: 15_000,
        what: "the session gone on the server",
      });
      const atExpiry = reads(wire);
      proxy.restore();
      await waitFor(async () => wire.sessions.length > 1, { timeoutMs: 15_000, what: "a new session" });
      // The re-list the new session needs (it has no watches) ...
      await waitFor(async () => reads(wire) - atExpiry >= WALK - 1, { timeoutMs: 30_000, what: "the re-list on the new session" });

      // ... then a change: the feed handles batches in order, so its event comes after any
      // further re-list the adapter asked for meanwhile. Only its own lock is re-read for it.
      let seen = false;
      const off = bus.subscribe((e) => {
        if (e.type === "upsert" && e.data.lock.key === `${ROOT}/job-0` && e.data.lock.waiters.length === PER_DIR) seen = true;
      });
      try {
        await zk.raw.create(`${ROOT}/job-0/${guid(DIRS * PER_DIR)}-lock-`, Buffer.from("10.1.2.4"), CreateMode.EPHEMERAL_SEQUENTIAL);
        await waitFor(async () => seen, { timeoutMs: 30_000, what: "the new contender's upsert" });
      } finally {
        off();
      }
      // One walk (sync not counted) + the changed lock's re-read: its getData, getChildren and 4 contenders.
      expect(reads(wire) - atExpiry).toBeLessThanOrEqual(WALK - 1 + 2 + (PER_DIR + 1));
      expect(wire.requests.filter((r) => r.op === "sync")).toHaveLength(3);
    } finally {
      await hub.stop();
      await proxy.close();
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
