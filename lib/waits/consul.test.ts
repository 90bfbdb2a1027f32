// Real deadlocks on a real Consul agent: on Consul only semaphores keep waiters, so two clients
// (one session each, hashicorp/consul/api Semaphore with limit 1, scripts/capture/consul
// semwaits) each hold one semaphore and contend for the other's. The hub and the wait-for graph
// must mark both semaphores "deadlock", name the cycle by the two sessions, and clear it when
// one holder is evicted by a force-release.
import { describe, expect, it } from "vitest";
import { withFence } from "../fence";
import type { HoldProcess } from "../../scripts/capture/hold";
import { clientLine, consulSemWaits } from "../../scripts/capture/waits";
import { adapterFor, consulFixture, signal, track } from "../../test/support/consul";
import { deadlocked, expectCycle, watchWaits } from "../../test/support/waits";

describe("wait-for graph on Consul (api.Semaphore)", () => {
  const s = consulFixture();

  it("a then b / b then a: both semaphores deadlocked, the cycle named by the two sessions; an eviction ends it", { timeout: 120_000 }, async () => {
    const p: HoldProcess = track(s, consulSemWaits(s.bin, s.consul.addr, ["locks/semc/a>locks/semc/b", "locks/semc/b>locks/semc/a"]));
    await p.waitForLine("READY", 30_000);
    const sessions = [0, 1].map((i) => `session:${clientLine(p, "SESSION", i)}`);
    const w = watchWaits("c1", adapterFor(s.consul));
    const [a, b] = ["locks/semc/a/.lock", "locks/semc/b/.lock"];
    try {
      await w.until("both semaphores deadlocked", (get) => deadlocked(get(a)) && deadlocked(get(b)));
      expectCycle(w, "c1", [a, b], sessions);
      const outcome = await w.hub.adapter.forceRelease(withFence(w.hub.get(a)!), "delete", signal);
      expect(outcome.status).toBe("released");
      await p.waitForLine("ACQUIRED 1 locks/semc/a", 30_000);
      await w.until("the warning gone from both", (get) => !deadlocked(get(a)) && !deadlocked(get(b)));
      expect(w.tracker.graph("c1").cycles()).toEqual([]);
    } finally {
      await w.stop();
    }
  });
});
