// Holder liveness from the servers' `cons`, against a real ZooKeeper and a real Curator holder:
// alive with its client address (and, from the second read on, when it was last answered);
// judged dead once its process is killed (the session lingers until its timeout, the node with
// it) — and the live hub hears of it without any znode changing; "unknown", saying why, on a
// server whose 4lw whitelist leaves cons out.
import { describe, expect, it } from "vitest";
import { startZooKeeper } from "../../../scripts/servers/zookeeper";
import { parseCons } from "../../formats/zookeeper/liveness";
import { deadReason } from "../../waits/api";
import { deadlocked, watchWaits } from "../../../test/support/waits";
import { waitFor } from "../../../scripts/servers/process";
import { curatorHold, ensurePath, lockAt, until, zookeeperFixture } from "../../../test/support/zookeeper";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { startZooKeeperEnsemble } from "../../../scripts/servers/zookeeper";
import { CreateMode, ZkSession } from "./client";
import { consAnswer, consPlan, parseEnsembleConfig } from "./liveness";

const KAZOO_NODE = (n: number) => `0123456789abcdef0123456789abcdef__lock__${String(n).padStart(10, "0")}`;

// ZooKeeper 3.8's answer to cons: one line per connection (ours last, without a session), then an empty line.
const CONS =
  " /127.0.0.1:48102[1](queued=0,recved=1,sent=1,sid=0x1000079fc860000,lop=SESS,est=1796415674580,to=10000,lcxid=0x0,lzxid=0x1,lresp=7994787,llat=9,minlat=0,avglat=9,maxlat=9)\n /127.0.0.1:48108[0](queued=0,recved=1,sent=0)\n\n";

describe("consAnswer", () => {
  it("takes a whole answer; an empty one or one cut short (even at a line's end) is a failed read, not 'no sessions'", () => {
    expect(consAnswer("zk:2181", CONS)).toMatchObject({ connections: [{ sid: "0x1000079fc860000" }] });
    for (const cut of ["", CONS.slice(0, CONS.indexOf("\n") + 1), CONS.slice(0, 60), " /127.0.0.1:48108[0](queued=0,recved=1,sent=0)\n"]) {
      expect(consAnswer("zk:2181", cut), JSON.stringify(cut)).toMatchObject({
        server: "zk:2181",
        refused: expect.stringMatching(/incomplete|unexpected|empty/),
      });
    }
    expect(consAnswer("zk:2181", "cons is not executed because it is not in the whitelist.\n")).toMatchObject({
      refused: expect.stringContaining("whitelist"),
    });
  });
});

describe("the ensemble's members (/zookeeper/config) and which of them cons covers", () => {
  const config = [
    "server.1=10.0.0.1:2888:3888:participant;0.0.0.0:2181",
    "server.2=10.0.0.2:2888:3888:observer;10.0.0.2:2182",
    "server.3=10.0.0.3:2888:3888",
    "server.4=[fd00::4]:2888:3888:participant;[::]:2181",
    "version=100000000",
  ].join("\n");

  it("reads each member's host and, where given, client address (a wildcard is the member's host)", () => {
    expect(parseEnsembleConfig(config)).toEqual([
      { id: "1", host: "10.0.0.1", client: "10.0.0.1:2181" },
      { id: "2", host: "10.0.0.2", client: "10.0.0.2:2182" },
      { id: "3", host: "10.0.0.3" },
      { id: "4", host: "[fd00::4]", client: "[fd00::4]:2181" },
    ]);
    expect(parseEnsembleConfig("")).toEqual([]);
  });

  it("asks every member; one it cannot ask, or several on one host behind one seed, leave the judgement open", () => {
    const members = parseEnsembleConfig(config);
    // One seed (a VIP): the members with a client address, and server.3 at the seed's port.
    const plan = consPlan(["zk-vip:2181"], { members });
    expect(plan.ask).toEqual(["zk-vip:2181", "10.0.0.1:2181", "10.0.0.2:2182", "[fd00::4]:2181", "10.0.0.3:2181"]);
    expect(plan.uncovered(new Set(plan.ask), new Map())).toEqual([]);
    expect(plan.uncovered(new Set(plan.ask.filter((a) => a !== "10.0.0.3:2181")), new Map([["10.0.0.3:2181", "ECONNREFUSED"]]))).toEqual([
      { server: "server.3 10.0.0.3:2181", why: expect.stringMatching(/ECONNREFUSED; 4 member\(s\) in the ensemble$/) },
    ]);
    // Three members on one host, client ports only in zoo.cfg, one of them in the connect string.
    const local = parseEnsembleConfig("server.1=127.0.0.1:1:2\nserver.2=127.0.0.1:3:4\nserver.3=127.0.0.1:5:6\n");
    const one = consPlan(["127.0.0.1:2181"], { members: local });
    expect(one.ask).toEqual(["127.0.0.1:2181"]);
    expect(one.uncovered(new Set(one.ask), new Map())).toEqual([
      { server: "server.1, server.2, server.3 (127.0.0.1)", why: expect.stringContaining("list every server") },
    ]);
    const all = consPlan(["127.0.0.1:2181", "127.0.0.1:2182", "127.0.0.1:2183"], { members: local });
    expect(all.uncovered(new Set(all.ask), new Map())).toEqual([]);
    expect(consPlan(["a:2181"], { unknown: "no /zookeeper/config" }).uncovered(new Set(["a:2181"]), new Map())).toHaveLength(1);
    expect(consPlan(["a:2181"], { standalone: true }).uncovered(new Set(["a:2181"]), new Map())).toEqual([]);
  });
});

describe("parseCons", () => {
  it("reads ZooKeeper 3.8's cons lines and skips the asking connection", () => {
    const text =
      " /127.0.0.1:48102[1](queued=0,recved=1,sent=1,sid=0x1000079fc860000,lop=SESS,est=1796415674580,to=10000,lcxid=0x0,lzxid=0x1,lresp=7994787,llat=9,minlat=0,avglat=9,maxlat=9)\n /127.0.0.1:48108[0](queued=0,recved=1,sent=0)\n\n";
    expect(parseCons("zk:2181", text)).toEqual({
      server: "zk:2181",
      connections: [{ server: "zk:2181", client: "127.0.0.1:48102", sid: "0x1000079fc860000", lresp: 7994787, timeoutMs: 10000, lastOp: "SESS" }],
    });
    expect(parseCons("zk:2181", "cons is not executed because it is not in the whitelist.\n")).toEqual({
      server: "zk:2181",
      refused: "cons is not in the server's 4lw.commands.whitelist",
    });
    // Not even the asking connection: no answer, never "this server has no sessions".
    for (const empty of ["", "\n\n"])
      expect(parseCons("zk:2181", empty)).toMatchObject({ server: "zk:2181", refused: expect.stringMatching(/^an empty cons answer/) });
  });
});

describe("holder liveness on ZooKeeper (cons)", () => {
  const f = zookeeperFixture();

  it(
    "a live Curator holder is alive with its address; killed, it is judged dead while its session lingers, and the live hub is told",
    { timeout: 120_000 },
    async () => {
      const h = await curatorHold(f.server, "mutex", "/locks/live/job", 1);
      const adapter = f.adapter({ livenessCheckMs: 300, holderGoneMs: 1_000 });
      const first = await lockAt(adapter, "/locks/live/job");
      expect(first.holders[0].session?.id).toBe(h.sessions[0]);
      expect(first.holders[0].liveness).toMatchObject({ state: "alive", clientAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
      expect(first.holders[0].liveness!.reason).toContain(`connected to ${f.server.address}`);

      const w = watchWaits("zk", adapter);
      try {
        await w.until("live", () => w.hub.statusEvent().mode === "live");
        // The lock page re-reads: from the second cons read on, it says when the client was last answered.
        await waitFor(async () => !!(await lockAt(adapter, "/locks/live/job")).holders[0].liveness?.lastActivity, {
          timeoutMs: 10_000,
          what: "last activity known",
        });
        await h.proc.kill(); // SIGKILL: no goodbye; the session (and the node) stay until the timeout
        await w.until("judged dead", (get) => !!get("/locks/live/job")?.warnings.includes("holder-disconnected"), 8_000);
        const rec = w.hub.get("/locks/live/job")!;
        expect(rec.holders[0].liveness).toMatchObject({ state: "dead", reason: expect.stringContaining("no ZooKeeper server has had a connection") });
        expect(deadReason(w.tracker.graph("zk"), `session:${h.sessions[0]}`)).toContain("no ZooKeeper server has had a connection");
        expect(deadlocked(rec)).toBe(false);
      } finally {
        await w.stop();
      }
    },
  );

  it("a server that closes cons without a word (over maxClientCnxns, a proxy): unknown, never dead", { timeout: 60_000 }, async () => {
    await ensurePath(f.raw, "/locks/f1");
    await f.raw.create(`/locks/f1/${KAZOO_NODE(0)}`, Buffer.from("holder"), CreateMode.EPHEMERAL);
    const proxy = await startFaultProxy(f.server.port);
    try {
      // The holder (f.raw) is connected to the server itself; LockDeck goes through the proxy.
      const adapter = f.adapter({ connectString: proxy.address, holderGoneMs: 0 });
      expect((await lockAt(adapter, "/locks/f1")).holders[0].liveness).toMatchObject({ state: "alive" });
      // The next cons through the proxy reaches the server, which answers; the answer is dropped
      // and the connection closed: LockDeck reads nothing at all.
      let fired = false;
      void proxy.dropReplyAfter("cons", { resetAfterMs: -1 }).then(() => (fired = true));
      let rec = await lockAt(adapter, "/locks/f1");
      await waitFor(async () => ((rec = await lockAt(adapter, "/locks/f1")), fired), { timeoutMs: 10_000, what: "an empty cons answer" });
      expect(rec.holders[0].liveness).toMatchObject({ state: "unknown", reason: expect.stringContaining("closed the connection without answering cons") });
      expect(rec.warnings).not.toContain("holder-disconnected");
    } finally {
      await proxy.close();
      await f.raw.remove(`/locks/f1/${KAZOO_NODE(0)}`, 0).catch(() => {});
    }
  });

  it(
    "ensemble: a holder on a member the connect string leaves out is unknown, not dead; with every member listed, alive, and dead once its client is cut off",
    { timeout: 120_000 },
    async () => {
      const ens = await startZooKeeperEnsemble(3);
      const proxy = await startFaultProxy(ens.servers[1].port);
      // The holder talks to server 2 only (through a proxy, to cut it off later); LockDeck to server 1.
      const holder = new ZkSession({ connectString: proxy.address, sessionTimeoutMs: 10_000, auth: [] }, 5_000);
      try {
        await holder.connected();
        await ensurePath(holder, "/locks/ens");
        await holder.create(`/locks/ens/${KAZOO_NODE(0)}`, Buffer.from("app-on-zk2"), CreateMode.EPHEMERAL);
        const seed = f.adapter({ connectString: ens.servers[0].address, holderGoneMs: 0 });
        const one = await lockAt(seed, "/locks/ens");
        expect(one.holders[0].session?.id).toBe(holder.sessionId);
        expect(one.holders[0].liveness).toMatchObject({ state: "unknown", reason: expect.stringContaining("list every server of the ensemble") });
        expect(one.warnings).not.toContain("holder-disconnected");

        const all = f.adapter({ connectString: ens.connectString, holderGoneMs: 0 });
        expect((await lockAt(all, "/locks/ens")).holders[0].liveness).toMatchObject({
          state: "alive",
          reason: expect.stringContaining(`connected to ${ens.servers[1].address}`),
        });
        // Under a chroot too: /zookeeper/config is read past it (as the Java client's getConfig).
        const chrooted = f.adapter({ connectString: `${ens.connectString}/locks`, roots: ["/ens"], holderGoneMs: 0 });
        expect((await lockAt(chrooted, "/ens")).holders[0].liveness).toMatchObject({ state: "alive" });
        // Cut off: its session (and node) linger until the timeout, no member lists it.
        proxy.cut();
        const dead = await until(all, "/locks/ens", "judged dead", (l) => l?.holders[0]?.liveness?.state === "dead", 8_000);
        expect(dead!.warnings).toContain("holder-disconnected");
        await until(chrooted, "/ens", "judged dead under a chroot", (l) => l?.holders[0]?.liveness?.state === "dead", 8_000);
        // The seed-only connection still cannot tell.
        expect((await lockAt(seed, "/locks/ens")).holders[0].liveness?.state).toBe("unknown");
      } finally {
        holder.close();
        await proxy.close();
        await ens.stop();
      }
    },
  );

  it("says unknown, and why, where cons is not whitelisted", { timeout: 120_000 }, async () => {
    const strict = await startZooKeeper({ config: { "4lw.commands.whitelist": "srvr" } });
    try {
      await curatorHold(strict, "mutex", "/locks/strict/job", 1);
      const adapter = f.adapter({ connectString: strict.address });
      const rec = await lockAt(adapter, "/locks/strict/job");
      expect(rec.holders[0].liveness).toMatchObject({ state: "unknown", reason: expect.stringContaining("4lw.commands.whitelist") });
      expect(rec.warnings).not.toContain("holder-disconnected");
    } finally {
      await strict.stop();
    }
  });
});
