// History truth on etcd, end to end with real holders (audit F2): etcd, the adapter with its
// live feed and lease check, a hub, the bus, the recorder and SQLite. etcd keep-alives change no
// record, so the TTL of the last read is no deadline for a holder that renews; before, every
// holding older than its lease TTL was recorded "expired" when its holder unlocked, and "lost ·
// ttl-ran-out" when it unlocked during a short outage.
//
//   - etcdctl lock (TTL 3 s, renewing) holds for longer than its TTL, then unlocks (SIGINT):
//     released, never expired;
//   - the control: a holder frozen (SIGSTOP) until etcd expires its lease: expired;
//   - the console is cut off from etcd (connections refused) for less than the TTL and the
//     holder unlocks meanwhile: lost at the gap's start, with a cause that is not ttl-ran-out.

import { afterEach, describe, expect, it } from "vitest";
import { etcdctlLock, interrupt } from "../../scripts/capture/etcd/hold";
import { startFaultProxy } from "../../scripts/servers/fault-proxy";
import { etcdSuite, lineMatching } from "../../test/support/etcd";
import { historyRig, until } from "../../test/support/history-rig";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

describe("etcd history: how a holding ended (real etcd, etcdctl lock)", () => {
  const t = etcdSuite();

  const rig = (prefix: string, endpoints?: string[]) =>
    historyRig("e1", t.adapter({ prefixes: [prefix], leaseCheckMs: 300, requestTimeoutMs: 1_000 }, endpoints));

  it("a renewing holder that unlocks after holding longer than its TTL: released", { timeout: 40_000 }, async () => {
    const { hub, ended } = await rig("gt-rel/");
    const holder = t.track(etcdctlLock(t.s.etcd.endpoint, "gt-rel/job", 3));
    await lineMatching(holder, /^gt-rel\/job\//);
    const key = "gt-rel/job/";
    await until("held", () => !!hub.get(key));
    await new Promise((r) => setTimeout(r, 5_000)); // past the TTL the record was read with
    expect(hub.get(key)!.warnings).not.toContain("not-renewed");
    await interrupt(holder);
    await until("the release recorded", async () => (await ended(key)).length > 0);
    expect((await ended(key)).map((e) => e.kind)).toEqual(["released"]);
  });

  it("the control: a frozen holder whose lease runs out: expired", { timeout: 40_000 }, async () => {
    const { hub, ended } = await rig("gt-exp/");
    const holder = t.track(etcdctlLock(t.s.etcd.endpoint, "gt-exp/job", 6));
    await lineMatching(holder, /^gt-exp\/job\//);
    const key = "gt-exp/job/";
    await until("held", () => !!hub.get(key));
    process.kill(holder.pid, "SIGSTOP");
    try {
      await until("the lease ran out", async () => (await ended(key)).length > 0, 15_000);
    } finally {
      process.kill(holder.pid, "SIGCONT");
    }
    expect((await ended(key)).map((e) => e.kind)).toEqual(["expired"]);
  });

  it("a holder that unlocks while the console is cut off for less than its TTL: lost, not ttl-ran-out", { timeout: 60_000 }, async () => {
    const proxy = await startFaultProxy(t.s.etcd.clientPort);
    cleanup.push(() => proxy.close());
    const { hub, recorder, ended } = await rig("gt-gap/", [proxy.endpoint]);
    const holder = t.track(etcdctlLock(t.s.etcd.endpoint, "gt-gap/job", 10));
    await lineMatching(holder, /^gt-gap\/job\//);
    const key = "gt-gap/job/";
    await until("held", () => !!hub.get(key));
    await new Promise((r) => setTimeout(r, 11_000)); // held longer than the TTL it was read with
    proxy.cut();
    await until("the gap open", () => recorder.connections.get("e1")?.outage != null);
    await interrupt(holder); // its lease had ~7-10 s left, and stays until it runs out
    proxy.restore();
    await until("the gap closed", () => recorder.connections.get("e1")?.outage == null && !hub.get(key), 20_000);
    const evs = await ended(key);
    expect(evs.map((e) => e.kind)).toEqual(["lost"]);
    expect(evs[0].cause).not.toBe("ttl-ran-out");
  });
});
