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
import { curatorHold, lockAt, zookeeperFixture } from "../../../test/support/zookeeper";

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
