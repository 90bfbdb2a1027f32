// Real deadlocks on a real Redis: Redisson clients (one RedissonClient = one client UUID each,
// scripts/capture/redisson RedissonWaits) take fair lock a then b and b then a; the console's
// hub and wait-for graph must mark both locks "deadlock", name the cycle by client UUID and
// thread, and clear it when one side is force-released (Lua compare-and-delete, then the
// queue head is woken on its own channel, as Redisson's unlock does).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withFence } from "../fence";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { prepareRedisson, type HoldProcess } from "../../scripts/capture/hold";
import { clientLine, redissonWaits } from "../../scripts/capture/waits";
import { RedisAdapter } from "../stores/redis/adapter";
import { RedisConnectionSchema } from "../stores/redis/config";
import { deadlocked, expectCycle, watchWaits } from "../../test/support/waits";

const signal = new AbortController().signal;

describe("wait-for graph on Redis (Redisson fair locks)", () => {
  let server: RedisServer;
  let p: HoldProcess | undefined;
  beforeAll(async () => {
    server = await startRedis({ notifyKeyspaceEvents: "KA" });
  });
  afterAll(async () => {
    await p?.kill();
    await server?.stop();
  });

  it("a then b / b then a: both locks deadlocked, the cycle named by client UUID and thread; a force-release ends it", { timeout: 180_000 }, async () => {
    const tool = await prepareRedisson();
    const w = watchWaits("r1", new RedisAdapter("r1", RedisConnectionSchema.parse({ id: "r1", kind: "redis", url: server.url, patterns: ["orders:*"] })));
    try {
      p = redissonWaits(tool, server.url, ["orders:a>orders:b", "orders:b>orders:a"]);
      await p.waitForLine("READY", 60_000);
      const owners = [0, 1].map((i) => `redisson:${clientLine(p!, "CLIENT", i)}`);
      await w.until("both locks deadlocked", (get) => deadlocked(get("orders:a")) && deadlocked(get("orders:b")));
      expectCycle(w, "r1", ["orders:a", "orders:b"], owners);

      const outcome = await w.hub.adapter.forceRelease(withFence(w.hub.get("orders:a")!), "delete", signal);
      expect(outcome.status).toBe("released");
      await p.waitForLine("ACQUIRED 1 orders:a", 30_000);
      // Waited on the view itself: between the delete and client 1's acquisition the hub has no
      // orders:a at all, which "not deadlocked" alone would take for the end (seen under load).
      await w.until(
        "orders:a held by client 1, the warning gone from both",
        (get) => get("orders:a")?.holders[0]?.ownerKey === owners[1] && !deadlocked(get("orders:a")) && !deadlocked(get("orders:b")),
      );
      expect(w.tracker.graph("r1").cycles()).toEqual([]);
    } finally {
      await p?.kill();
      await w.stop();
    }
  });
});
