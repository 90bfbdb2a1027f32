// History truth on Consul, end to end with real holders: a Consul agent, the adapter with its
// blocking-query feed, a hub, the bus, the recorder and SQLite. A key let go by its holder and one
// let go because Consul ended the holder's session look the same (Session cleared); before, every
// such end was recorded "released", so a holder that died and timed out read as one that finished.
//
//   - api.Lock (session TTL 10 s) whose process is killed: nobody renews the session, Consul
//     invalidates it and that releases the key: expired, cause session-ended;
//   - a session destroyed under its lock (an operator's `consul session destroy`): the same;
//   - the control: api.Lock lets go (Unlock, then its session destroyed, in two transactions):
//     released.

import { describe, expect, it } from "vitest";
import { holdApiLock } from "../../scripts/capture/consul/hold";
import { kv } from "../../scripts/capture/consul/dump";
import { acquire, adapterFor, consulFixture, createSession, track } from "../../test/support/consul";
import { historyRig, until } from "../../test/support/history-rig";

describe("Consul history: how a holding ended (real Consul, api.Lock)", () => {
  const s = consulFixture();

  const rig = (prefix: string) => historyRig("c1", adapterFor(s.consul, { prefixes: [prefix] }));

  it("api.Lock whose process dies: Consul invalidates its session when the TTL runs out: expired, cause session-ended", { timeout: 60_000 }, async () => {
    const { hub, ended } = await rig("gt-ttl/");
    const key = "gt-ttl/job";
    const p = track(s, holdApiLock(s.bin, s.consul.addr, key, { ttl: "10s" }));
    await p.waitForLine("READY", 30_000);
    await until("held", () => hub.get(key)?.state === "held");
    await p.kill();
    // Consul waits up to twice the TTL before it invalidates.
    await until("its session invalidated", async () => (await ended(key)).length > 0, 30_000);
    expect((await ended(key)).map((e) => [e.kind, e.cause])).toEqual([["expired", "session-ended"]]);
  });

  it("a session destroyed under its lock: expired, cause session-ended", { timeout: 30_000 }, async () => {
    const { hub, ended } = await rig("gt-destroy/");
    const key = "gt-destroy/job";
    const sid = await createSession(s.consul, { Name: "job runner", TTL: "30s" });
    expect(await acquire(s.consul, key, sid, "w1")).toBe(true);
    await until("held", () => hub.get(key)?.state === "held");
    await kv(s.consul, "PUT", `/v1/session/destroy/${sid}`);
    await until("its end recorded", async () => (await ended(key)).length > 0);
    expect((await ended(key)).map((e) => [e.kind, e.cause])).toEqual([["expired", "session-ended"]]);
  });

  it("the control: api.Lock lets go (Unlock, then its session destroyed): released", { timeout: 30_000 }, async () => {
    const { hub, ended } = await rig("gt-unlock/");
    const key = "gt-unlock/job";
    const p = track(s, holdApiLock(s.bin, s.consul.addr, key, { ttl: "10s" }));
    await p.waitForLine("READY", 30_000);
    await until("held", () => hub.get(key)?.state === "held");
    expect(await p.release()).toBe(0);
    await until("its end recorded", async () => (await ended(key)).length > 0);
    expect((await ended(key)).map((e) => [e.kind, e.cause])).toEqual([["released", undefined]]);
  });
});
