// The ZooKeeper adapter against a real ZooKeeper 3.8: connection options (digest auth, chroot,
// several servers), sync-then-read vs local reads and which server answered, and faults — a node
// with 300k children, binary data and look-alike names, the server going down, the session
// expiring. Real clients' lock layouts are in libraries.test.ts.

import { describe, expect, it } from "vitest";
import { CreateMode, ZkSession, digestAcl } from "./client";
import { ensurePath, lockAt, signal, zookeeperFixture } from "../../../test/support/zookeeper";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { endSession, readsSent, tapZooKeeper } from "../../../test/support/zookeeper-wire";
import { freePort } from "../../../scripts/servers/ports";
import { waitFor } from "../../../scripts/servers/process";
import { startZooKeeperEnsemble, serverMode } from "../../../scripts/servers/zookeeper";
import type { StoreChange } from "../../model";
import { withFence } from "../../fence";

const zk = zookeeperFixture();

const ensure = (path: string) => ensurePath(zk.raw, path);

const KAZOO_NODE = (n: number) => `0123456789abcdef0123456789abcdef__lock__${String(n).padStart(10, "0")}`;

function follow(adapter: { watch(s: AbortSignal): AsyncIterable<StoreChange> }) {
  const ctl = new AbortController();
  const batches: StoreChange[] = [];
  const done = (async () => {
    for await (const c of adapter.watch(ctl.signal)) batches.push(c);
  })();
  return { batches, stop: async () => (ctl.abort(), await done) };
}

describe("faults: nothing crashes, everything is reported", () => {
  it("binary node data and names that only look like lock nodes: shown as such, reported, releasable only where exact", async () => {
    await ensure("/locks/odd");
    await zk.raw.create(`/locks/odd/${KAZOO_NODE(0)}`, Buffer.from([0xff, 0x00, 0xfe]), CreateMode.EPHEMERAL);
    await zk.raw.create("/locks/odd/garbage__lock__12", Buffer.from("x"), CreateMode.EPHEMERAL);
    const adapter = zk.adapter();
    const snap = await adapter.snapshot(signal);
    const l = snap.locks.find((x) => x.key === "/locks/odd")!;
    expect(l.holders[0].owner).toBe("binary data (3 bytes)");
    expect(l.raw).toBeUndefined(); // whole snapshots carry no previews; a re-read of the lock does
    expect((await lockAt(adapter, "/locks/odd")).raw?.[0]).toMatchObject({ encoding: "hex", preview: "ff 00 fe" });
    expect(snap.problems).toContainEqual({ key: "/locks/odd/garbage__lock__12", code: "malformed-lock-node", message: expect.any(String) });
    expect((await adapter.forceRelease(withFence(l), "delete", signal)).status).toBe("released");
    expect(await zk.raw.exists(`/locks/odd/${KAZOO_NODE(0)}`)).toBeNull();
    await zk.raw.remove("/locks/odd/garbage__lock__12", 0);
  });

  it("server down: reads fail within the deadline and health says unreachable; back up: the feed asks for a re-list", async () => {
    const adapter = zk.adapter({ commandTimeoutMs: 1_500 });
    await adapter.snapshot(signal);
    const feed = follow(adapter);
    try {
      await zk.server.kill9();
      await waitFor(async () => (await adapter.health(signal)).status === "unreachable", { timeoutMs: 10_000, what: "unreachable" });
      const t0 = Date.now();
      await expect(adapter.snapshot(signal)).rejects.toThrow(/not connected|no answer/);
      expect(Date.now() - t0).toBeLessThan(5_000);
      await zk.server.restart();
      await waitFor(async () => (await adapter.health(signal)).status === "ok", { timeoutMs: 30_000, what: "healthy again" });
      await waitFor(async () => feed.batches.some((b) => b.resync), { timeoutMs: 10_000, what: "a resync from the feed" });
      expect((await adapter.snapshot(signal)).locks).toBeDefined();
    } finally {
      await feed.stop();
      // Whatever happened above, leave the server serving for the tests after this one.
      if ((await serverMode(zk.server.port).catch(() => "")) === "") await zk.server.restart();
      await waitFor(async () => (await serverMode(zk.server.port).catch(() => "")) !== "", { timeoutMs: 30_000, what: "the server serving again" });
      // The tests' own session may have expired while the server was down, or its reconnect may
      // hang on the starting server until its 10 s handshake deadline (see the next test): then
      // open a new one rather than wait.
      const back = await waitFor(async () => zk.raw.state === "connected", { timeoutMs: 3_000, what: "the raw session back" }).then(
        () => true,
        () => false,
      );
      if (!back) {
        zk.raw.close();
        zk.raw = new ZkSession({ connectString: zk.server.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
        await zk.raw.connected();
      }
    }
  }, 90_000);

  it("a reconnect the server accepts and never answers: given up at the command deadline, the same session comes back", async () => {
    // ZooKeeper 3.8.0 does this to a connection made while it starts (the socket leaks, never
    // closed): without a deadline on the handshake the session waited for it forever.
    const proxy = await startFaultProxy(zk.server.port);
    const wire = tapZooKeeper(proxy);
    const adapter = zk.adapter({ connectString: proxy.address, commandTimeoutMs: 1_500 });
    await adapter.snapshot(signal);
    const feed = follow(adapter);
    try {
      proxy.hang();
      proxy.reset();
      await waitFor(async () => proxy.stats().held === 1, { timeoutMs: 5_000, what: "LockDeck's reconnect held unanswered" });
      expect((await adapter.health(signal)).status).toBe("unreachable");
      proxy.restore();
      const t0 = Date.now();
      await waitFor(async () => (await adapter.health(signal)).status === "ok", { timeoutMs: 6_000, what: "healthy again" });
      expect(Date.now() - t0).toBeLessThan(4_000); // the 1.5 s deadline, then a reconnect
      expect(proxy.stats().held).toBe(0); // LockDeck dropped the unanswered socket
      expect(wire.sessions.map((x) => x.id)).toEqual([wire.sessions[0].id, wire.sessions[0].id]);
      await waitFor(async () => feed.batches.some((b) => b.resync), { timeoutMs: 10_000, what: "a resync" });
    } finally {
      await feed.stop();
      await proxy.close();
    }
  });

  it("health is a round trip: a black hole or a slow server is reported within the check's 3 s, not after the session's read timeout", async () => {
    const proxy = await startFaultProxy(zk.server.port);
    // The default session timeout (15 s, 10 s as negotiated here): the client itself would notice a
    // silent connection only after 2/3 of that.
    const adapter = zk.adapter({ connectString: proxy.address });
    try {
      await adapter.snapshot(signal);
      expect((await adapter.health(signal)).status).toBe("ok");

      proxy.blackhole();
      let t0 = Date.now();
      const holed = await adapter.health(signal);
      expect(holed).toMatchObject({ status: "unreachable", message: expect.stringContaining("did not answer") });
      expect(Date.now() - t0).toBeLessThan(4_000);
      expect(holed.late).toBeInstanceOf(Promise);
      proxy.restore();
      // The socket stays blackholed (its bytes were dropped): the session reconnects, then answers.
      await waitFor(async () => (await adapter.health(signal)).status === "ok", { timeoutMs: 20_000, what: "healthy again" });

      // Every reply 2 s late each way: each check gives up at 3 s, and its answer still comes (slow, not down).
      proxy.delay(2_000, "both");
      t0 = Date.now();
      const slow = await adapter.health(signal);
      expect(slow.status).toBe("unreachable");
      expect(Date.now() - t0).toBeLessThan(4_000);
      await expect(slow.late).resolves.toBeNull();
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it("session expired: a new session replaces it, the feed asks for a re-list, reads go on", async () => {
    await ensure("/locks/exp");
    const proxy = await startFaultProxy(zk.server.port);
    const wire = tapZooKeeper(proxy);
    const adapter = zk.adapter({ connectString: proxy.address });
    await adapter.snapshot(signal);
    const feed = follow(adapter);
    try {
      // The session the server granted LockDeck, as seen on the wire.
      expect(wire.sessions).toHaveLength(1);
      const [before] = wire.sessions;
      // Cut LockDeck off, and end its session on the server meanwhile (attach to it and close it,
      // as ZooKeeper's own tests do); then let it reconnect: the server says "expired".
      proxy.cut();
      await waitFor(async () => (await endSession(zk.server.address, before.credentials)) === "expired", {
        timeoutMs: 15_000,
        what: "the session to be gone on the server",
      });
      proxy.restore();
      await waitFor(async () => wire.sessions.length > 1, { timeoutMs: 15_000, what: "a new session" });
      expect(wire.sessions.map((x) => x.id)).toEqual([before.id, expect.not.stringMatching(`^${before.id}$`)]);
      await waitFor(async () => feed.batches.some((b) => b.resync), { timeoutMs: 10_000, what: "a resync" });
      // Watches are re-armed by the next read, and work on the new session.
      await adapter.snapshot(signal);
      feed.batches.length = 0;
      await zk.raw.create(`/locks/exp/${KAZOO_NODE(1)}`, Buffer.from("w"), CreateMode.EPHEMERAL);
      await waitFor(async () => feed.batches.some((b) => b.keys.includes("/locks/exp")), { timeoutMs: 10_000, what: "a watch event on the new session" });
      await zk.raw.remove(`/locks/exp/${KAZOO_NODE(1)}`, 0);
    } finally {
      await feed.stop();
      await proxy.close();
    }
  }, 60_000);
});

describe("connection options", () => {
  it("a root path that does not exist yet is reported, and its creation is seen by an exists() watch", async () => {
    const adapter = zk.adapter({ roots: ["/later"] });
    const snap = await adapter.snapshot(signal);
    expect(snap.problems.map((p) => [p.key, p.code])).toEqual([["/later", "root-missing"]]);
    const feed = follow(adapter);
    try {
      await zk.raw.create("/later", Buffer.alloc(0), CreateMode.PERSISTENT);
      await waitFor(async () => feed.batches.some((b) => b.keys.includes("/later")), { timeoutMs: 10_000, what: "the root's creation" });
      await zk.raw.create("/later/job", Buffer.alloc(0), CreateMode.PERSISTENT);
      await zk.raw.create(`/later/job/${KAZOO_NODE(0)}`, Buffer.from("w1"), CreateMode.EPHEMERAL);
      // The next read of the root arms its child watch: the new lock directory is seen live too.
      expect((await adapter.reread(["/later"], signal)).locks.map((l) => l.key)).toEqual(["/later/job"]);
      feed.batches.length = 0;
      await zk.raw.create("/later/job2", Buffer.alloc(0), CreateMode.PERSISTENT);
      await waitFor(async () => feed.batches.some((b) => b.keys.includes("/later")), { timeoutMs: 10_000, what: "a child of the root" });
    } finally {
      await feed.stop();
    }
  });

  it("digest auth, a chroot and several servers in the connect string (one of them dead)", async () => {
    const authed = new ZkSession(
      { connectString: zk.server.address, sessionTimeoutMs: 10_000, auth: [{ scheme: "digest", credentials: "ops:s3cret" }] },
      5_000,
    );
    try {
      await authed.connected();
      await ensure("/app/locks");
      await authed.create("/app/locks/secret", Buffer.alloc(0), CreateMode.PERSISTENT, digestAcl("ops", "s3cret"));
      await authed.create(`/app/locks/secret/${KAZOO_NODE(0)}`, Buffer.from("payments-1"), CreateMode.EPHEMERAL, digestAcl("ops", "s3cret"));
      const dead = await freePort();
      const connectString = `127.0.0.1:${dead},${zk.server.address}/app`;

      const anonymous = zk.adapter({ connectString });
      const snap = await anonymous.snapshot(signal);
      expect(snap.locks).toEqual([]);
      expect(snap.problems).toContainEqual({ key: "/locks/secret", code: "no-auth", message: expect.stringMatching(/ACL/) });

      const adapter = zk.adapter({ connectString, digest: "ops:s3cret" });
      const l = await lockAt(adapter, "/locks/secret");
      expect(l.holders[0].owner).toBe("payments-1");
      expect(adapter.describeRelease(withFence(l), "delete").command).toBe(`zkCli.sh -server ${connectString} delete -v 0 /locks/secret/${KAZOO_NODE(0)}`);
      expect((await adapter.forceRelease(withFence(l), "delete", signal)).status).toBe("released");
      expect(await authed.exists(`/app/locks/secret/${KAZOO_NODE(0)}`)).toBeNull();
    } finally {
      authed.close();
    }
  });

  it("sync() then read (the default) sends sync; local reads do not; every read says which server answered", async () => {
    await ensure("/locks");
    const counts = { sync: 0, local: 0 };
    for (const mode of ["sync", "local"] as const) {
      const proxy = await startFaultProxy(zk.server.port);
      try {
        const wire = tapZooKeeper(proxy);
        const adapter = zk.adapter({ connectString: proxy.address, consistency: mode });
        const snap = await adapter.snapshot(signal);
        counts[mode] = wire.requests.filter((r) => r.op === "sync").length;
        const label = mode === "sync" ? "sync\\(\\) then read" : "local read \\(the connected server may lag the leader\\)";
        expect(snap.consistency).toMatch(new RegExp(`^${label} · answered by ${proxy.address.replace(/\./g, "\\.")} \\(standalone\\)$`));
        expect((await adapter.health(signal)).server).toMatch(/^ZooKeeper 3\.8\.\d+ standalone · 127\.0\.0\.1:\d+$/);
        expect(readsSent(wire).filter((r) => r.op === "getChildren2" || r.op === "getChildren").length).toBeGreaterThan(0);
      } finally {
        await proxy.close();
      }
    }
    expect(counts.sync).toBeGreaterThan(0);
    expect(counts.local).toBe(0);
  });

  it("sync() on the wire: answered by the server, inside a chroot too, and the session stays up", async () => {
    await ensure("/locks/sync");
    const s = new ZkSession({ connectString: `${zk.server.address}/locks`, sessionTimeoutMs: 10_000, auth: [] }, 5_000);
    try {
      await s.connected();
      const id = s.sessionId;
      for (let i = 0; i < 20; i++) await Promise.all([s.sync("/sync"), s.getChildren("/"), s.sync("/")]);
      expect((await s.getChildren("/")).children).toContain("sync");
      expect(s.state).toBe("connected");
      expect(s.sessionId).toBe(id);
    } finally {
      s.close();
    }
  });

  it("in an ensemble the view names the follower that answered", async () => {
    const ens = await startZooKeeperEnsemble(3);
    try {
      const modes = await Promise.all(ens.servers.map((x) => serverMode(x.port)));
      const follower = ens.servers[modes.indexOf("follower")];
      const adapter = zk.adapter({ connectString: follower.address, roots: ["/"], maxDepth: 1 });
      const snap = await adapter.snapshot(signal);
      expect(snap.consistency).toContain(`answered by ${follower.address} (follower)`);
      expect((await adapter.health(signal)).server).toContain("follower");
    } finally {
      await ens.stop();
    }
  }, 60_000);
});

// Last: the server's log then holds 300k creates, which a restart would have to replay.
describe("scale", () => {
  it("300k children under one node: the count is reported, the node is never listed, the rest still shows, no reconnect", async () => {
    await ensure("/scale/big");
    const started = Date.now();
    for (let i = 0; i < 300_000; i += 2_000) {
      await zk.raw.createAll(Array.from({ length: 2_000 }, (_, j) => ({ path: `/scale/big/n${i + j}`, mode: CreateMode.PERSISTENT })));
    }
    console.log(`created 300k children in ${Date.now() - started} ms`);
    await ensure("/scale/ok");
    await zk.raw.create(`/scale/ok/${KAZOO_NODE(0)}`, Buffer.from("worker-1"), CreateMode.EPHEMERAL);

    // Through a proxy that only watches: which paths LockDeck lists, and on which sessions.
    const proxy = await startFaultProxy(zk.server.port);
    const wire = tapZooKeeper(proxy);
    try {
      const adapter = zk.adapter({ connectString: proxy.address, roots: ["/scale"] });
      for (let i = 0; i < 2; i++) {
        const snap = await adapter.snapshot(signal);
        expect(snap.problems).toEqual([
          { key: "/scale/big", code: "too-many-children", message: expect.stringMatching(/^300000 children, more than the listing limit of 10000/) },
        ]);
        expect(snap.locks.map((l) => [l.key, l.holders[0]?.owner])).toEqual([["/scale/ok", "worker-1"]]);
      }
      const { problems } = await adapter.reread(["/scale/big"], signal);
      expect(problems.map((p) => p.code)).toEqual(["too-many-children"]);
      const listed = readsSent(wire)
        .filter((r) => r.op === "getChildren2" || r.op === "getChildren")
        .map((r) => r.path);
      expect(listed).toContain("/scale");
      expect(listed).not.toContain("/scale/big");
      expect(new Set(wire.sessions.map((x) => x.id)).size).toBe(1); // no new session: the same one throughout
      expect((await adapter.health(signal)).status).toBe("ok");
    } finally {
      await proxy.close();
    }
    await zk.raw.remove(`/scale/ok/${KAZOO_NODE(0)}`, 0);
  }, 120_000);
});
