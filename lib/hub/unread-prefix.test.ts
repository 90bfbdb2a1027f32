// Stale beats partial when a prefix grows past the connection's bounds (waits audit 4): a real
// deadlock between two Go concurrency.Mutex sessions on etcd; then other keys arrive under the
// same prefix (a lock storm) past maxKeysPerPrefix, and the console re-lists (its periodic resync,
// a reconnect, a restart). Before, the re-list dropped the prefix's locks as if they had gone:
// the deadlock vanished from the view and its LockDeadlock alerts were sent resolved while both
// programs were still stuck. Now the locks stay as last read, warned "not-reread", deadlocked.
import { describe, expect, it } from "vitest";
import { goWaits, prepareGoHold } from "../../scripts/capture/etcd/hold";
import { etcdSuite } from "../../test/support/etcd";
import { alertsOn, deadlocked, watchWaits } from "../../test/support/waits";
import { webhookSink } from "../../test/support/webhook";
import { waitFor } from "../../scripts/servers/process";
import { UNREAD_PREFIX } from "../model";
import { CreateMode } from "../stores/zookeeper/client";
import { ensurePath, zookeeperFixture } from "../../test/support/zookeeper";
import { EventBus } from "./bus";
import { Hub } from "./hub";

describe("a prefix the re-list could not read keeps its locks as last read", () => {
  const t = etcdSuite();

  it("etcd: a deadlock under a prefix that grew past maxKeysPerPrefix stays, and its alerts are not resolved", { timeout: 120_000 }, async () => {
    const go = await prepareGoHold();
    const w = watchWaits("e1", t.adapter({ prefixes: ["locks/storm/"], maxKeysPerPrefix: 20 }));
    const sink = await webhookSink();
    const alerts = alertsOn(w, "e1", { webhooks: [{ name: "ops", kind: "json", url: `${sink.url}/hook` }] });
    const p = t.track(goWaits(go, t.s.etcd.endpoint, ["locks/storm/a>locks/storm/b", "locks/storm/b>locks/storm/a"], 30));
    const keys = () => [...w.hub.all()].filter((r) => deadlocked(r)).map((r) => r.key);
    const sent = () => sink.received.flatMap((r) => (r.body as { alerts?: Array<{ status: string; lock: string }> }).alerts ?? []);
    try {
      await p.waitForLine("READY", 30_000);
      await w.until("deadlocked", () => keys().length === 2);
      await waitFor(async () => sent().filter((a) => a.status === "firing").length === 2, { timeoutMs: 10_000, what: "two LockDeadlock alerts firing" });
      for (let i = 0; i < 25; i++) await t.s.raw.put(`locks/storm/other-${i}`).value("x");
      expect(await w.hub.refresh()).toBe(true);
      expect(w.hub.currentProblems().map((x) => x.code)).toContain(UNREAD_PREFIX);
      const kept = [...w.hub.all()].filter((r) => r.key.startsWith("locks/storm/a") || r.key.startsWith("locks/storm/b"));
      expect(kept).toHaveLength(2);
      for (const r of kept) expect(r.warnings).toEqual(expect.arrayContaining(["deadlock", "not-reread"]));
      expect(keys()).toHaveLength(2);
      // The alerter has the upserts (a new warning): what is due now is sent now, and nothing resolves.
      await alerts.tick();
      expect(sent().filter((a) => a.status === "resolved")).toEqual([]);
      expect(alerts.answer().alerts.filter((a) => a.rule === "deadlock")).toHaveLength(2);
    } finally {
      alerts.stop();
      await sink.close();
      await p.kill();
      await w.stop();
    }
  });
});

describe("a ZooKeeper walk cut short at maxNodes keeps the locks it did not reach as last read", () => {
  const f = zookeeperFixture();

  it("a lock under a root the walk no longer reaches stays, warned not-reread; read again, it is fresh", { timeout: 60_000 }, async () => {
    // Roots are walked in order: 150 plain nodes under /ra use the 100-node budget before /rb.
    await ensurePath(f.raw, "/rb/job");
    await f.raw.create("/rb/job/0123456789abcdef0123456789abcdef__lock__0000000000", Buffer.from("worker-1"), CreateMode.EPHEMERAL);
    await ensurePath(f.raw, "/ra");
    const hub = new Hub("z1", f.adapter({ roots: ["/ra", "/rb"], maxNodes: 100, watch: false }), new EventBus(), { healthIntervalMs: 60_000 });
    try {
      expect(await hub.refresh()).toBe(true);
      expect(hub.get("/rb/job")?.holders[0]?.owner).toBe("worker-1");
      for (let i = 0; i < 150; i += 50) await f.raw.createAll(Array.from({ length: 50 }, (_, k) => ({ path: `/ra/n${i + k}`, mode: CreateMode.PERSISTENT })));
      expect(await hub.refresh()).toBe(true);
      expect(hub.get("/rb/job")?.holders[0]?.owner).toBe("worker-1");
      expect(hub.get("/rb/job")?.warnings).toContain("not-reread");
      expect(
        hub
          .currentProblems()
          .filter((p) => p.code === UNREAD_PREFIX)
          .map((p) => p.key),
      ).toEqual(["/ra", "/rb"]);
      // Under the budget again: the next read reaches it, and the warning goes.
      for (let i = 0; i < 150; i++) await f.raw.remove(`/ra/n${i}`, 0);
      expect(await hub.refresh()).toBe(true);
      expect(hub.currentProblems().filter((p) => p.code === UNREAD_PREFIX)).toEqual([]);
      expect(hub.get("/rb/job")?.warnings).not.toContain("not-reread");
    } finally {
      await hub.stop();
    }
  });
});
