// History truth on ZooKeeper, end to end with real kazoo holders: ZooKeeper, the adapter with its
// live feed and its holder liveness (cons), a hub, the bus, the recorder and SQLite. An ephemeral
// lock node goes the same way whether its holder deleted it or its session expired; before, every
// such end was recorded "released", so a holder that died mid-work read as one that finished.
//
//   - a holder killed (SIGKILL): no server lists its session; judged dead; when its session
//     expires the node goes: expired, cause holder-gone;
//   - a holder frozen (SIGSTOP): its connection stays open until the session expires, so it is
//     still listed; judged dead by its silence (nothing answered for 2/3 of its session timeout)
//     before the node goes: expired, cause holder-gone;
//   - the control: a holder that lets go (kazoo's release, then its session closed): released.

import { describe, expect, it } from "vitest";
import { historyRig, until } from "../../test/support/history-rig";
import { kazooHold, lockAt, zookeeperFixture } from "../../test/support/zookeeper";

describe("ZooKeeper history: how a holding ended (real ZooKeeper, kazoo holders)", () => {
  const f = zookeeperFixture();

  async function rig() {
    const a = f.adapter({ livenessCheckMs: 300, holderGoneMs: 1_000 });
    const { hub, ended } = await historyRig("zk", a);
    // Its last answer known (from the second cons read on), so its silence can be measured.
    const answered = (key: string) => until("held, last activity known", async () => !!(await lockAt(a, key)).holders[0].liveness?.lastActivity);
    return { hub, ended, answered };
  }

  it("a killed holder: judged dead, then its session expires: expired, cause holder-gone", { timeout: 60_000 }, async () => {
    const { hub, ended } = await rig();
    const key = "/locks/gt-killed";
    const h = await kazooHold(f.server, "lock", key, 1);
    await until("held", () => hub.get(key)?.holders[0]?.liveness?.state === "alive");
    await h.proc.kill();
    await until("judged dead", () => hub.get(key)?.holders[0]?.liveness?.state === "dead", 10_000);
    expect(hub.get(key)!.holders[0].liveness!.reason).toContain("no ZooKeeper server has had a connection");
    await until("its session expired", async () => (await ended(key)).length > 0, 20_000);
    expect((await ended(key)).map((e) => [e.kind, e.cause])).toEqual([["expired", "holder-gone"]]);
  });

  it("a frozen holder, still connected: judged dead by its silence before its session expires: expired, cause holder-gone", { timeout: 60_000 }, async () => {
    const { hub, ended, answered } = await rig();
    const key = "/locks/gt-frozen";
    const h = await kazooHold(f.server, "lock", key, 1);
    await answered(key);
    process.kill(h.proc.pid, "SIGSTOP");
    try {
      await until("judged dead while its node is still there", () => hub.get(key)?.holders[0]?.liveness?.state === "dead", 15_000);
      const rec = hub.get(key)!;
      expect(rec.holders[0].liveness!.reason).toMatch(/^connected to .* but answered nothing for \d+ s of its 10 s session timeout/);
      expect(rec.warnings).toContain("holder-disconnected");
      await until("its session expired", async () => (await ended(key)).length > 0, 20_000);
    } finally {
      process.kill(h.proc.pid, "SIGCONT");
    }
    expect((await ended(key)).map((e) => [e.kind, e.cause])).toEqual([["expired", "holder-gone"]]);
  });

  it("the control: a holder that lets go: released", { timeout: 60_000 }, async () => {
    const { hub, ended, answered } = await rig();
    const key = "/locks/gt-released";
    const h = await kazooHold(f.server, "lock", key, 1);
    await until("held", () => hub.get(key)?.holders[0]?.liveness?.state === "alive");
    await answered(key);
    expect(await h.proc.release()).toBe(0);
    await until("the release recorded", async () => (await ended(key)).length > 0);
    expect((await ended(key)).map((e) => [e.kind, e.cause])).toEqual([["released", undefined]]);
  });
});
