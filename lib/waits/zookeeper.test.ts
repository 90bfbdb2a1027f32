// Real deadlocks on a real ZooKeeper: Apache Curator clients (one CuratorFramework = one
// session each, scripts/capture/curator CuratorWaits) take a then b and b then a; the console's
// hub and wait-for graph must mark both locks "deadlock", name the cycle by the two sessions,
// and clear it when one side is force-released (version-checked delete of the holder node).
import { describe, expect, it } from "vitest";
import { withFence } from "../fence";
import { prepareCurator } from "../../scripts/capture/curator/prepare";
import { clientLine, curatorWaits } from "../../scripts/capture/waits";
import type { HoldProcess } from "../../scripts/capture/hold";
import { ensurePath, signal, zookeeperFixture } from "../../test/support/zookeeper";
import { deadlocked, expectCycle, watchWaits } from "../../test/support/waits";

describe("wait-for graph on ZooKeeper (Curator InterProcessMutex)", () => {
  const f = zookeeperFixture();
  let p: HoldProcess | undefined;

  it("a then b / b then a: both locks deadlocked, the cycle named by the two sessions; a force-release ends it", { timeout: 180_000 }, async () => {
    const tool = await prepareCurator();
    await ensurePath(f.raw, "/locks/zk-cycle");
    const w = watchWaits("zk", f.adapter());
    try {
      p = curatorWaits(tool, f.server.address, ["/locks/zk-cycle/a>/locks/zk-cycle/b", "/locks/zk-cycle/b>/locks/zk-cycle/a"]);
      await p.waitForLine("READY", 60_000);
      const sessions = [0, 1].map((i) => `session:${clientLine(p!, "SESSION", i)}`);
      await w.until("both locks deadlocked", (get) => deadlocked(get("/locks/zk-cycle/a")) && deadlocked(get("/locks/zk-cycle/b")));
      expectCycle(w, "zk", ["/locks/zk-cycle/a", "/locks/zk-cycle/b"], sessions);

      const outcome = await w.hub.adapter.forceRelease(withFence(w.hub.get("/locks/zk-cycle/a")!), "delete", signal);
      expect(outcome.status).toBe("released");
      await p.waitForLine("ACQUIRED 1 /locks/zk-cycle/a", 20_000);
      await w.until("the warning gone from both", (get) => !deadlocked(get("/locks/zk-cycle/a")) && !deadlocked(get("/locks/zk-cycle/b")));
      expect(w.tracker.graph("zk").cycles()).toEqual([]);
      expect(w.hub.get("/locks/zk-cycle/a")!.holders[0].ownerKey).toBe(sessions[1]);
    } finally {
      await p?.kill();
      await w.stop();
    }
  });
});
