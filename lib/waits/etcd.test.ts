// Real deadlocks on a real etcd: Go concurrency.Mutex clients (one session = one lease each,
// scripts/capture/etcd/go waits) take a then b and b then a; the console's hub and wait-for
// graph must mark both locks "deadlock", name the cycle by its leases, leave a chain alone,
// find a three-party cycle, and clear the warning when one side is force-released.
import { describe, expect, it } from "vitest";
import { withFence } from "../fence";
import { goHold, goWaits, lineValue, prepareGoHold } from "../../scripts/capture/etcd/hold";
import { waitsAnswer } from "./api";
import { clientLine } from "../../scripts/capture/waits";
import { etcdSuite, signal } from "../../test/support/etcd";
import { alertsOn, deadlocked, expectCycle, watchWaits } from "../../test/support/waits";
import { webhookSink } from "../../test/support/webhook";
import { waitFor } from "../../scripts/servers/process";

describe("wait-for graph on etcd (Go concurrency.Mutex)", () => {
  const t = etcdSuite();
  let go: string;

  it(
    "a then b / b then a: both locks deadlocked, the cycle named by the two leases, people told; a force-release ends it and says so",
    { timeout: 120_000 },
    async () => {
      go = await prepareGoHold();
      const w = watchWaits("e1", t.adapter({ prefixes: ["locks/two/"] }));
      const sink = await webhookSink();
      const alerts = alertsOn(w, "e1", {
        webhooks: [
          { name: "ops", kind: "json", url: `${sink.url}/hook` },
          { name: "am", kind: "alertmanager", url: sink.url },
        ],
      });
      const got = (path: string, status: string) =>
        sink.received
          .filter((r) => r.path === path)
          .flatMap((r) => (path === "/hook" ? (r.body as { alerts: Array<{ status: string; lock: string; alertname: string; detail?: string }> }).alerts : []))
          .filter((a) => a.status === status);
      try {
        const p = t.track(goWaits(go, t.s.etcd.endpoint, ["locks/two/a>locks/two/b", "locks/two/b>locks/two/a"], 30));
        await p.waitForLine("READY", 30_000);
        const leases = [0, 1].map((i) => `lease:${clientLine(p, "LEASE", i)}`);
        await w.until("both locks deadlocked", (get) => deadlocked(get("locks/two/a/")) && deadlocked(get("locks/two/b/")));
        expectCycle(w, "e1", ["locks/two/a/", "locks/two/b/"], leases);
        // People are told: one firing deadlock alert per lock of the cycle, with the cycle in words.
        await waitFor(async () => got("/hook", "firing").length === 2, { timeoutMs: 10_000, what: "two firing deadlock alerts" });
        expect(
          got("/hook", "firing")
            .map((a) => [a.alertname, a.lock])
            .sort(),
        ).toEqual([
          ["LockDeadlock", "locks/two/a/"],
          ["LockDeadlock", "locks/two/b/"],
        ]);
        expect(got("/hook", "firing")[0].detail).toMatch(new RegExp(`${leases[0]} waits for locks/two/`));
        await waitFor(async () => sink.received.some((r) => r.path === "/api/v2/alerts"), { timeoutMs: 10_000, what: "the Alertmanager post" });

        // Force-release a (guarded txn delete of client 0's key): client 1 gets a; client 0 still waits for b.
        const outcome = await w.hub.adapter.forceRelease(withFence(w.hub.get("locks/two/a/")!), "delete", signal);
        expect(outcome.status).toBe("released");
        await p.waitForLine("ACQUIRED 1 locks/two/a/" + clientLine(p, "LEASE", 1), 20_000);
        await w.until("the warning gone from both", (get) => !deadlocked(get("locks/two/a/")) && !deadlocked(get("locks/two/b/")));
        expect(w.tracker.graph("e1").cycles()).toEqual([]);
        expect(w.hub.get("locks/two/b/")!.waiters.map((x) => x.ownerKey)).toEqual([leases[0]]);
        // The resolve reaches every webhook, once per alert.
        await waitFor(async () => got("/hook", "resolved").length === 2, { timeoutMs: 10_000, what: "two resolved notifications" });
        const am = sink.received.filter((r) => r.path === "/api/v2/alerts").at(-1)!.body as Array<{
          labels: { alertname: string; lock: string };
          endsAt: string;
        }>;
        expect(am.map((a) => a.labels.alertname)).toEqual(["LockDeadlock", "LockDeadlock"]);
        expect(am.every((a) => Date.parse(a.endsAt) <= Date.now())).toBe(true);
        expect(alerts.answer().alerts).toEqual([]);
      } finally {
        alerts.stop();
        await sink.close();
        await w.stop();
      }
    },
  );

  it("a three-party cycle is one deadlock of three locks; a chain without a cycle is none", { timeout: 120_000 }, async () => {
    go ??= await prepareGoHold();
    const w = watchWaits("e1", t.adapter({ prefixes: ["locks/three/", "locks/chain/"] }));
    try {
      const chain = t.track(goWaits(go, t.s.etcd.endpoint, ["locks/chain/a>locks/chain/b", "locks/chain/b>locks/chain/c", "locks/chain/c"], 30));
      const three = t.track(goWaits(go, t.s.etcd.endpoint, ["locks/three/a>locks/three/b", "locks/three/b>locks/three/c", "locks/three/c>locks/three/a"], 30));
      await Promise.all([chain.waitForLine("READY", 30_000), three.waitForLine("READY", 30_000)]);
      const three3 = ["a", "b", "c"].map((x) => `locks/three/${x}/`);
      await w.until("the three-party cycle", (get) => three3.every((k) => deadlocked(get(k))));
      expectCycle(
        w,
        "e1",
        three3,
        [0, 1, 2].map((i) => `lease:${clientLine(three, "LEASE", i)}`),
      );
      // The chain is in the graph (two waits) but nothing on it is a deadlock.
      await w.until("the chain's waits", (get) => get("locks/chain/b/")?.waiters.length === 1 && get("locks/chain/c/")?.waiters.length === 1);
      for (const x of ["a", "b", "c"]) expect(w.hub.get(`locks/chain/${x}/`)!.warnings).not.toContain("deadlock");
      const edges = w.tracker
        .graph("e1")
        .edges()
        .edges.filter((e) => e.lock.startsWith("locks/chain/"));
      expect(edges.map((e) => [e.waiter, e.lock, e.holder])).toEqual(
        expect.arrayContaining([
          [`lease:${clientLine(chain, "LEASE", 0)}`, "locks/chain/b/", `lease:${clientLine(chain, "LEASE", 1)}`],
          [`lease:${clientLine(chain, "LEASE", 1)}`, "locks/chain/c/", `lease:${clientLine(chain, "LEASE", 2)}`],
        ]),
      );
    } finally {
      await w.stop();
    }
  });

  it("a holder whose lease is not renewed is judged dead in the graph, and the answer says why", { timeout: 120_000 }, async () => {
    go ??= await prepareGoHold();
    const w = watchWaits("e1", t.adapter({ prefixes: ["locks/dead/"], leaseCheckMs: 300 }));
    const holder = t.track(goHold(go, t.s.etcd.endpoint, ["mutex:locks/dead/b"], 6));
    try {
      await holder.waitForLine("READY", 30_000);
      const waiter = t.track(goWaits(go, t.s.etcd.endpoint, ["locks/dead/a>locks/dead/b"], 30));
      await waiter.waitForLine("READY", 30_000);
      await w.until("the wait", (get) => get("locks/dead/b/")?.waiters.length === 1);
      process.kill(holder.pid, "SIGSTOP"); // its keep-alives stop; the lease counts down
      await w.until("not-renewed", (get) => !!get("locks/dead/b/")?.warnings.includes("not-renewed"), 10_000);
      const a = waitsAnswer("e1", w.tracker.graph("e1"), w.hub, 100);
      const dead = `lease:${lineValue(holder, "LEASE")}`;
      expect(a.owners[dead].dead).toMatch(/^its lease is not renewed/);
      expect(w.hub.get("locks/dead/b/")!.holders[0].liveness).toMatchObject({ state: "dead" });
      expect(a.owners[`lease:${clientLine(waiter, "LEASE", 0)}`].dead).toBeUndefined();
      expect(a.edges.map((e) => [e.waiter, e.holder])).toEqual([[`lease:${clientLine(waiter, "LEASE", 0)}`, dead]]);
    } finally {
      if (holder.running()) process.kill(holder.pid, "SIGCONT");
      await w.stop();
    }
  });
});
