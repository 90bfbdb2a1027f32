// The watch table that replaces node-zookeeper-client's (watchers.ts), on a real ZooKeeper:
// every kind of watch fires once with the library's event, and a reconnect re-arms what is
// still armed (SetWatches read from the table, in pieces the server takes), so a change made
// while the connection was down is still told.

import { describe, expect, it } from "vitest";
import zookeeper from "node-zookeeper-client";
import { CreateMode, ZkSession } from "./client";
import { LeanWatchers, SET_WATCHES_MAX_BYTES, setWatchesBatches, type WatchLists } from "./watchers";
import { ensurePath, zookeeperFixture } from "../../../test/support/zookeeper";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { waitFor } from "../../../scripts/servers/process";
import { tapZooKeeper } from "../../../test/support/zookeeper-wire";

const zk = zookeeperFixture();

type Seen = Array<{ name: string; type: number; path: string }>;
const recorder = (seen: Seen, name: string) => (e: { type: number; path: string }) => seen.push({ name, type: e.type, path: e.path });

describe("LeanWatchers in a ZkSession", () => {
  it("data, child and existence watches fire once each, with the library's event", async () => {
    const root = "/locks/watchers";
    await ensurePath(zk.raw, root);
    await zk.raw.create(`${root}/n`, Buffer.from("a"), CreateMode.PERSISTENT);
    const s = new ZkSession({ connectString: zk.server.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
    try {
      await s.connected();
      const table = (s.client as unknown as { connectionManager: { watcherManager: unknown } }).connectionManager.watcherManager;
      expect(table).toBeInstanceOf(LeanWatchers);
      const seen: Seen = [];
      await s.getData(`${root}/n`, recorder(seen, "data"));
      await s.getChildren(root, recorder(seen, "child"));
      expect(await s.exists(`${root}/later`, recorder(seen, "exists"))).toBeNull();

      await zk.raw.setData(`${root}/n`, Buffer.from("b"), 0);
      await zk.raw.setData(`${root}/n`, Buffer.from("c"), 1); // fired already: not told again
      await zk.raw.create(`${root}/later`, Buffer.from(""), CreateMode.PERSISTENT);
      await waitFor(async () => seen.length >= 3, { timeoutMs: 10_000, what: "three notifications" });
      await new Promise((r) => setTimeout(r, 300)); // a second data event would have arrived by now
      expect(seen.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { name: "child", type: zookeeper.Event.NODE_CHILDREN_CHANGED, path: root },
        { name: "data", type: zookeeper.Event.NODE_DATA_CHANGED, path: `${root}/n` },
        { name: "exists", type: zookeeper.Event.NODE_CREATED, path: `${root}/later` },
      ]);
      expect((table as LeanWatchers).isEmpty()).toBe(true);

      // A deletion fires the node's data watch and its parent's child watch.
      const gone: Seen = [];
      await s.getData(`${root}/later`, recorder(gone, "data"));
      await s.getChildren(root, recorder(gone, "child"));
      await zk.raw.remove(`${root}/later`, 0);
      await waitFor(async () => gone.length >= 2, { timeoutMs: 10_000, what: "the deletion told twice" });
      expect(gone.map((g) => `${g.name} ${g.type} ${g.path}`).sort()).toEqual([
        `child ${zookeeper.Event.NODE_CHILDREN_CHANGED} ${root}`,
        `data ${zookeeper.Event.NODE_DELETED} ${root}/later`,
      ]);
    } finally {
      s.close();
    }
  }, 60_000);

  it.each(["", "/locks/chroot-rewatch"])(
    "a watch armed before a lost connection still fires for a change made while it was down (chroot %j)",
    async (chroot) => {
      const path = "/locks/watchers-reconnect";
      await ensurePath(zk.raw, chroot + path);
      const proxy = await startFaultProxy(zk.server.port);
      const s = new ZkSession({ connectString: proxy.address + chroot, sessionTimeoutMs: 20_000, auth: [] }, 10_000);
      try {
        await s.connected();
        const seen: Seen = [];
        const { stat } = await s.getData(path, recorder(seen, "data"));
        proxy.cut();
        await waitFor(async () => s.state !== "connected", { timeoutMs: 10_000, what: "the session disconnected" });
        await zk.raw.setData(chroot + path, Buffer.from("changed while down"), stat.version);
        proxy.restore();
        // Re-armed with SetWatches from the table (relativeZxid older than the change): the server tells at once.
        await waitFor(async () => seen.length === 1, { timeoutMs: 15_000, what: "the change told after the reconnect" });
        expect(seen[0]).toEqual({ name: "data", type: zookeeper.Event.NODE_DATA_CHANGED, path });
      } finally {
        s.close();
        await proxy.close();
      }
    },
    60_000,
  );
});

describe("re-arming many watches", () => {
  it("more watched path bytes than a server takes in one packet: re-armed in pieces, the connection holds, and changes are told", async () => {
    const root = "/locks/watchers-many";
    await ensurePath(zk.raw, root);
    // 1 200 paths of ~1 KB: 1.2 MB, over the server's 1 MB jute.maxbuffer in one SetWatches.
    const paths = Array.from({ length: 1_200 }, (_, i) => `${root}/${String(i).padStart(4, "0")}-${"w".repeat(1_000)}`);
    for (let i = 0; i < paths.length; i += 100) await zk.raw.createAll(paths.slice(i, i + 100).map((path) => ({ path, mode: CreateMode.PERSISTENT })));
    const proxy = await startFaultProxy(zk.server.port);
    const wire = tapZooKeeper(proxy);
    const s = new ZkSession({ connectString: proxy.address, sessionTimeoutMs: 20_000, auth: [] }, 10_000);
    try {
      await s.connected();
      const seen: Seen = [];
      for (const p of paths) await s.getData(p, recorder(seen, "data"));
      proxy.cut();
      await waitFor(async () => s.state !== "connected", { timeoutMs: 10_000, what: "the session disconnected" });
      const first = paths[0];
      const last = paths[paths.length - 1];
      await zk.raw.setData(first, Buffer.from("changed while down"), 0);
      await zk.raw.setData(last, Buffer.from("changed while down"), 0);
      const connects = wire.connects;
      proxy.restore();
      // Both ends of the list were re-armed (first and last pieces), relative to a zxid older than the changes.
      await waitFor(async () => seen.length === 2, { timeoutMs: 15_000, what: "the two changes told after the reconnect" });
      expect(seen.map((e) => [e.type, e.path]).sort()).toEqual([
        [zookeeper.Event.NODE_DATA_CHANGED, first],
        [zookeeper.Event.NODE_DATA_CHANGED, last],
      ]);
      const pieces = wire.requests.filter((r) => r.op === "setWatches").length;
      expect(pieces).toBeGreaterThanOrEqual(Math.ceil((1_200 * 1_030) / SET_WATCHES_MAX_BYTES));
      // The connection holds (the library's one SetWatches of 1.2 MB got it closed, ~50 times a second),
      // and a watch still armed fires for a change made after it.
      await zk.raw.setData(paths[600], Buffer.from("changed after"), 0);
      await waitFor(async () => seen.length === 3, { timeoutMs: 10_000, what: "a change after the reconnect told" });
      expect(seen[2]).toEqual({ name: "data", type: zookeeper.Event.NODE_DATA_CHANGED, path: paths[600] });
      expect(wire.connects).toBe(connects + 1);
      expect(s.state).toBe("connected");
    } finally {
      s.close();
      await proxy.close();
    }
  }, 120_000);

  it("cuts the lists at the byte limit, in order, counting the chroot; a longer path goes alone", () => {
    const lists: WatchLists = [["/a/1", "/a/2", "/a/3"], ["/e"], ["/c/1", "/c/22"]];
    // "/r" + path + 4 bytes of length: 10, 10, 10, 8, 10, 11.
    expect(setWatchesBatches(lists, "/r", 25)).toEqual([
      [["/a/1", "/a/2"], [], []],
      [["/a/3"], ["/e"], []],
      [[], [], ["/c/1", "/c/22"]],
    ]);
    expect(setWatchesBatches(lists, "/r", 30)[0]).toEqual([["/a/1", "/a/2", "/a/3"], [], []]);
    expect(setWatchesBatches(lists, "", 1_000)).toEqual([lists]);
    expect(setWatchesBatches([["/x".repeat(50), "/y"], [], []], "", 20)).toEqual([
      [["/x".repeat(50)], [], []],
      [["/y"], [], []],
    ]);
    expect(setWatchesBatches([[], [], []], "")).toEqual([]);
  });
});

describe("LeanWatchers alone", () => {
  it("adds a function once per path and type, and lists the armed paths", () => {
    const t = new LeanWatchers();
    const f = () => {};
    const g = () => {};
    t.registerDataWatcher("/a", f);
    t.registerDataWatcher("/a", f);
    t.registerDataWatcher("/a", g);
    t.registerChildWatcher("/b", f);
    t.registerExistenceWatcher("/c", g);
    expect([t.getDataWatcherPaths(), t.getChildWatcherPaths(), t.getExistenceWatcherPaths()]).toEqual([["/a"], ["/b"], ["/c"]]);
    const calls: string[] = [];
    t.registerDataWatcher("/x", () => calls.push("1"));
    t.registerDataWatcher("/x", () => calls.push("2"));
    t.emit({ type: zookeeper.Event.NODE_DATA_CHANGED, path: "/x" });
    t.emit({ type: zookeeper.Event.NODE_DATA_CHANGED, path: "/x" });
    expect(calls).toEqual(["1", "2"]);
    expect(() => t.emit({ type: 99, path: "/a" })).toThrow(/Unknown event type/);
  });
});
