// Holder liveness on Consul, against a real agent and a real api.Lock holder: its session is
// bound to the node's serfHealth only, so when another check on its node goes critical Consul
// keeps the lock — the console says the holder's node is failing (judged dead), live, without
// any key changing, and takes it back when the check passes again.
import { describe, expect, it } from "vitest";
import { holdApiLock } from "../../../scripts/capture/consul/hold";
import { kv } from "../../../scripts/capture/consul/dump";
import { watchWaits } from "../../../test/support/waits";
import { adapterFor, consulFixture, track } from "../../../test/support/consul";

describe("holder liveness on Consul (the session's node checks)", () => {
  const s = consulFixture();

  it("a critical check on the holder's node: holder-node-failing while the lock stays held; gone when it passes", { timeout: 120_000 }, async () => {
    const p = track(s, holdApiLock(s.bin, s.consul.addr, "locks/node-health/job"));
    await p.waitForLine("READY", 30_000);
    const w = watchWaits("c1", adapterFor(s.consul, { livenessCheckMs: 300 }));
    const key = "locks/node-health/job";
    try {
      await w.until("the holder alive", (get) => get(key)?.holders[0].liveness?.state === "alive");
      const node = w.hub.get(key)!.holders[0].session!.node!;
      expect(w.hub.get(key)!.holders[0].liveness!.reason).toBe(`node ${node}: no failing checks`);

      await kv(s.consul, "PUT", "/v1/agent/check/register", JSON.stringify({ ID: "app-health", Name: "app-health", TTL: "600s", Status: "passing" }));
      await kv(s.consul, "PUT", "/v1/agent/check/fail/app-health?note=process+gone");
      await w.until("judged dead", (get) => !!get(key)?.warnings.includes("holder-node-failing"));
      const rec = w.hub.get(key)!;
      expect(rec.state).toBe("held"); // Consul keeps the lock: the session is not bound to app-health
      expect(rec.holders[0].liveness).toMatchObject({ state: "dead", node, failingChecks: [{ id: "app-health", status: "critical", name: "app-health" }] });
      expect(rec.holders[0].liveness!.reason).toContain("app-health critical");

      await kv(s.consul, "PUT", "/v1/agent/check/pass/app-health");
      await w.until("alive again", (get) => !get(key)?.warnings.includes("holder-node-failing") && get(key)?.holders[0].liveness?.state === "alive");
    } finally {
      await kv(s.consul, "PUT", "/v1/agent/check/deregister/app-health").catch(() => {});
      await w.stop();
    }
  });
});
