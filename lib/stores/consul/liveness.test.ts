// Holder liveness on Consul, against a real agent and a real api.Lock holder. Consul invalidates
// a session (and ends its locks) only for a check the session is bound to — api.Lock's session
// names serfHealth alone — so a critical check of another service on the holder's node, or an
// unbound node check, leaves the holder alive (the check named as a note); a critical check the
// session names judges it dead, naming that check (audit2 F6).
import { describe, expect, it } from "vitest";
import { holdApiLock } from "../../../scripts/capture/consul/hold";
import { kv } from "../../../scripts/capture/consul/dump";
import { watchWaits } from "../../../test/support/waits";
import { adapterFor, consulFixture, track } from "../../../test/support/consul";
import { boundChecks, sessionLiveness } from "../../formats/consul/liveness";

describe("holder liveness on Consul (the checks the session is bound to)", () => {
  const s = consulFixture();

  it(
    "a critical check of an unrelated service, or an unbound node check, on the holder's node: alive, the check named; the lock stays held",
    { timeout: 120_000 },
    async () => {
      const p = track(s, holdApiLock(s.bin, s.consul.addr, "locks/node-health/job"));
      await p.waitForLine("READY", 30_000);
      const w = watchWaits("c1", adapterFor(s.consul, { livenessCheckMs: 300 }));
      const key = "locks/node-health/job";
      try {
        await w.until("the holder alive", (get) => get(key)?.holders[0].liveness?.state === "alive");
        const node = w.hub.get(key)!.holders[0].session!.node!;
        expect(w.hub.get(key)!.holders[0].liveness!.reason).toBe(`node ${node}: no failing checks`);

        // As audit2's probe: a service that has nothing to do with the holder, its check critical.
        await kv(
          s.consul,
          "PUT",
          "/v1/agent/service/register",
          JSON.stringify({
            Name: "unrelated-web",
            ID: "unrelated-web",
            Port: 8080,
            Check: { CheckID: "web-http", Name: "web http", TTL: "600s", Status: "critical" },
          }),
        );
        await w.until("the critical check seen", (get) => !!get(key)?.holders[0].liveness?.failingChecks?.some((c) => c.id === "web-http"), 15_000);
        let rec = w.hub.get(key)!;
        expect(rec.state).toBe("held");
        expect(rec.warnings).not.toContain("holder-node-failing");
        expect(rec.holders[0].liveness).toMatchObject({ state: "alive", node, failingChecks: [{ id: "web-http", status: "critical", name: "web http" }] });
        expect(rec.holders[0].liveness!.reason).toBe(
          `node ${node}: web http (web-http) critical; the session is bound to serfHealth only, so Consul keeps its locks through the others`,
        );

        // An unbound node-level check critical too: still not the session's.
        await kv(s.consul, "PUT", "/v1/agent/check/register", JSON.stringify({ ID: "app-health", Name: "app-health", TTL: "600s", Status: "critical" }));
        await w.until("both checks seen", (get) => get(key)?.holders[0].liveness?.failingChecks?.length === 2, 15_000);
        rec = w.hub.get(key)!;
        expect(rec.holders[0].liveness!.state).toBe("alive");
        expect(rec.warnings).not.toContain("holder-node-failing");
        // Consul agrees: the session lives and still holds the key.
        const [entry] = JSON.parse(await kv(s.consul, "GET", `/v1/kv/${key}`)) as Array<{ Session?: string }>;
        expect(entry.Session).toBe(rec.holders[0].id);

        await kv(s.consul, "PUT", "/v1/agent/service/deregister/unrelated-web");
        await kv(s.consul, "PUT", "/v1/agent/check/deregister/app-health");
        await w.until("no failing checks again", (get) => get(key)?.holders[0].liveness?.reason === `node ${node}: no failing checks`, 15_000);
      } finally {
        await kv(s.consul, "PUT", "/v1/agent/service/deregister/unrelated-web").catch(() => {});
        await kv(s.consul, "PUT", "/v1/agent/check/deregister/app-health").catch(() => {});
        await w.stop();
      }
    },
  );

  it("the session names its checks as Consul 1.22 lists them: api.Lock's is bound to serfHealth alone", { timeout: 60_000 }, async () => {
    const p = track(s, holdApiLock(s.bin, s.consul.addr, "locks/node-health/bound"));
    await p.waitForLine("READY", 30_000);
    const sessions = JSON.parse(await kv(s.consul, "GET", "/v1/session/list")) as Array<Parameters<typeof boundChecks>[0] & { Name?: string }>;
    const mine = sessions.filter((x) => x?.Name === "Consul API Lock");
    expect(mine.length).toBeGreaterThan(0);
    for (const x of mine) expect(boundChecks(x)).toEqual(["serfHealth"]);
  });
});

describe("sessionLiveness: judged by the bound checks only", () => {
  const health = {
    checks: [
      { Node: "n1", CheckID: "serfHealth", Name: "Serf Health Status", Status: "critical" },
      { Node: "n1", CheckID: "service:web", Name: "web", Status: "critical", ServiceID: "web" },
      { Node: "n2", CheckID: "gate", Status: "critical" },
    ],
    filtered: false,
  };

  it("a critical check the session names is dead, and the reason names it", () => {
    const l = sessionLiveness("n1", health, ["serfHealth"]);
    expect(l.state).toBe("dead");
    expect(l.reason).toBe(
      "its session is bound to Serf Health Status (serfHealth) on node n1, which is critical: Consul invalidates the session and ends its locks",
    );
    expect(sessionLiveness("n1", health, boundChecks({ NodeChecks: [], ServiceChecks: [{ ID: "service:web" }] })).state).toBe("dead");
    expect(sessionLiveness("n2", health, boundChecks({ NodeChecks: ["serfHealth", "gate"] })).reason).toMatch(/bound to gate on node n2/);
  });

  it("critical checks the session does not name are a note: alive", () => {
    const l = sessionLiveness("n1", health, boundChecks({ NodeChecks: [], ServiceChecks: null }));
    expect(l.state).toBe("alive");
    expect(l.reason).toBe(
      "node n1: Serf Health Status (serfHealth) critical, web (service:web) critical; the session is bound to no check only, so Consul keeps its locks through the others",
    );
    expect(sessionLiveness("n2", health, ["serfHealth"]).state).toBe("alive");
  });

  it("what a session is bound to: NodeChecks (Checks before 1.7) and ServiceChecks; neither named: serfHealth, Consul's default", () => {
    expect(boundChecks({ NodeChecks: ["serfHealth", "a"], ServiceChecks: [{ ID: "b" }] })).toEqual(["serfHealth", "a", "b"]);
    expect(boundChecks({ Checks: ["serfHealth", "x"] })).toEqual(["serfHealth", "x"]);
    expect(boundChecks({ NodeChecks: null })).toEqual([]);
    expect(boundChecks({})).toEqual(["serfHealth"]);
  });
});
