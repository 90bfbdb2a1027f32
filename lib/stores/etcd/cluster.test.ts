// A 3-member etcd cluster on loopback (test plan row 21): the console is pinned to one member,
// and that member is cut off from the other two (they are paused: see scripts/servers/etcd.test.ts
// for why SIGSTOP). Linearizable reads there fail: the hub keeps the last snapshot, marked
// stale, health says the member knows no leader, and a release is refused without anything
// being sent. A serializable connection to the same member still reads, labelled as possibly
// stale, and still refuses to release. After the heal everything is fresh and the lock intact.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hub } from "../../hub/hub";
import { EventBus } from "../../hub/bus";
import { startEtcdCluster, etcdctl, memberStatus, type EtcdCluster, type EtcdMember } from "../../../scripts/servers/etcd";
import { waitFor } from "../../../scripts/servers/process";
import { goHold, prepareGoHold } from "../../../scripts/capture/etcd/hold";
import type { HoldProcess } from "../../../scripts/capture/hold";
import { EtcdAdapter } from "./adapter";
import { EtcdConnectionSchema } from "./config";
import { signal } from "../../../test/support/etcd";
import { fenceOf, withFence } from "../../fence";

const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) =>
  waitFor(async () => await check(), { timeoutMs, intervalMs: 50, what });

describe("etcd cluster: a member in the minority", () => {
  let cluster: EtcdCluster;
  let leader: EtcdMember;
  let lonely: EtcdMember;
  let holder: HoldProcess;
  const adapters: EtcdAdapter[] = [];
  const adapter = (consistency: "linearizable" | "serializable") => {
    const a = new EtcdAdapter(
      `m-${consistency}`,
      EtcdConnectionSchema.parse({
        id: `m-${consistency}`,
        kind: "etcd",
        endpoints: [lonely.endpoint],
        prefixes: ["m/"],
        consistency,
        requestTimeoutMs: 1_500,
      }),
    );
    adapters.push(a);
    return a;
  };

  beforeAll(async () => {
    const go = await prepareGoHold();
    cluster = await startEtcdCluster(3);
    leader = await cluster.leader();
    lonely = cluster.members.find((m) => m !== leader)!;
    holder = goHold(go, leader.endpoint, ["mutex:m/job"], 60);
    await holder.waitForLine("READY", 20_000);
  }, 300_000);
  afterAll(async () => {
    for (const a of adapters) await a.close();
    await holder?.kill();
    await cluster?.stop();
  });

  it("reads through the pinned member and names the cluster: members, leader, term, index, who answered", async () => {
    const a = adapter("linearizable");
    const h = await a.health(signal);
    expect(h.status).toBe("ok");
    expect(h.server).toMatch(new RegExp(`· 3 members · leader ${leader.name} · raft term \\d+ · index \\d+ · answered by ${lonely.name}$`));
    const snap = await a.snapshot(signal);
    expect(snap.consistency).toBe(`linearizable (via ${lonely.name})`);
    expect(snap.locks.map((l) => l.key)).toEqual(["m/job/"]);
  });

  it(
    "cut off from its peers: cannot confirm (stale snapshot kept, release refused); serializable reads are labelled stale; all fresh after the heal",
    { timeout: 60_000 },
    async () => {
      const lin = adapter("linearizable");
      const ser = adapter("serializable");
      const hub = new Hub("m", lin, new EventBus(), { healthIntervalMs: 300 });
      const serHub = new Hub("ms", ser, new EventBus(), { healthIntervalMs: 300 });
      hub.start();
      serHub.start();
      const others = cluster.members.filter((m) => m !== lonely);
      try {
        await until("the hubs' first snapshots", () => !!hub.get("m/job/") && !hub.statusEvent().stale && !!serHub.get("m/job/"));
        const seen = hub.get("m/job/")!;
        for (const m of others) m.pause();
        try {
          await until("the member to lose its leader", async () => (await memberStatus(lonely)).leader === "0");
          const h = await lin.health(signal);
          expect(h).toMatchObject({ status: "unreachable", message: expect.stringMatching(/^cannot confirm: .* knows no leader/) });
          expect(h.server).toMatch(/NO LEADER seen by /);
          await expect(lin.snapshot(signal)).rejects.toThrow();

          // The hub notices through health: it keeps what it had, marked stale, and says why.
          await until("the hub to mark the view stale", () => hub.statusEvent().stale && hub.statusEvent().status === "unreachable");
          expect(hub.statusEvent().message).toMatch(/cannot confirm/);
          expect(fenceOf(hub.get("m/job/")!)).toBe(fenceOf(seen));
          expect(await lin.forceRelease(withFence(seen), "delete", signal)).toMatchObject({
            status: "refused",
            reason: expect.stringMatching(/cannot confirm/),
          });
          expect(await lin.forceRelease(withFence(seen), "revoke-lease", signal)).toMatchObject({
            status: "refused",
            reason: expect.stringMatching(/cannot confirm/),
          });

          // Serializable: the member's own copy still reads, re-listed and labelled as maybe stale; no release.
          await until("the serializable view to say NO LEADER", () => /NO LEADER/.test(serHub.statusEvent().consistency));
          expect(serHub.statusEvent().consistency).toMatch(/^serializable: .*NO LEADER — may be stale$/);
          const s = serHub.get("m/job/")!;
          expect(s.consistency).toMatch(/NO LEADER/);
          expect(s.warnings).toContain("lease-ttl-unknown"); // LeaseTimeToLive needs the leader
          expect(await ser.forceRelease(withFence(s), "delete", signal)).toMatchObject({ status: "refused", reason: expect.stringMatching(/cannot confirm/) });
        } finally {
          for (const m of others) m.resume();
        }
        await until("fresh again after the heal", () => hub.statusEvent().status === "ok" && !hub.statusEvent().stale, 30_000);
        await until("the serializable label without NO LEADER", () => !/NO LEADER/.test(serHub.statusEvent().consistency), 30_000);
        expect(fenceOf(hub.get("m/job/")!)).toBe(fenceOf(seen));
        expect(await etcdctl(leader.endpoint, ["get", "m/job/", "--prefix", "--keys-only"])).toContain("m/job/");
        expect(holder.running()).toBe(true);
      } finally {
        await hub.stop();
        await serHub.stop();
      }
    },
  );
});
