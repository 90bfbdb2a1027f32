// The live feed and faults, through the real hub (lib/hub/hub.ts) on a real etcd member:
// - watch from the snapshot's revision; a cut connection resumes from the last revision (no
//   re-list); a compacted revision makes the hub re-list (test plan row 22); either way the hub
//   ends equal to a fresh read (no phantom or missing locks);
// - a holder that stops renewing (SIGSTOP) is flagged not-renewed before its lease runs out;
// - etcd down: the hub keeps its last snapshot, marked stale; a release is refused ("cannot
//   confirm", nothing sent); etcd back: fresh again.
import { describe, expect, it } from "vitest";
import { Etcd3 } from "etcd3";
import { Hub } from "../../hub/hub";
import { EventBus } from "../../hub/bus";
import { lockStatus } from "../../status";
import { etcdctlLock, interrupt } from "../../../scripts/capture/etcd/hold";
import { startEtcd } from "../../../scripts/servers/etcd";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { waitFor } from "../../../scripts/servers/process";
import { etcdSuite, lineMatching, signal } from "../../../test/support/etcd";
import { fenceOf, withFence } from "../../fence";
import type { LockRecord } from "../../model";
import { RELIST_OVER_LOCKS } from "./adapter";
import { encodeLeaseTimeToLiveRequest } from "./wire";

const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) =>
  waitFor(async () => await check(), { timeoutMs, intervalMs: 50, what });

describe("etcd live feed", () => {
  const t = etcdSuite();

  it(
    "follows changes live, resumes a cut watch from its revision, re-lists after compaction, and ends equal to a fresh read",
    { timeout: 60_000 },
    async () => {
      const ep = t.s.etcd.endpoint;
      const proxy = await startFaultProxy(t.s.etcd.clientPort);
      const a = t.adapter({ prefixes: ["w/"], leaseCheckMs: 600_000 }, [proxy.endpoint]);
      // Health checks off: this test is about the feed's own resume, not the hub's re-list on recovery.
      const hub = new Hub("e1", a, new EventBus(), { healthIntervalMs: 600_000 });
      hub.start();
      try {
        await until("the hub to go live", () => hub.statusEvent().mode === "live");
        const one = t.track(etcdctlLock(ep, "w/one", 10));
        await until("w/one to appear live", () => !!hub.get("w/one/"));
        const snapshots = a.stats.snapshots;

        // Cut the console off; the store changes meanwhile.
        proxy.cut();
        await interrupt(one);
        const two = t.track(etcdctlLock(ep, "w/two", 10));
        await lineMatching(two, /^w\/two\//);
        proxy.restore();
        await until("the missed release and acquire to arrive", () => !hub.get("w/one/") && !!hub.get("w/two/"));
        expect(a.stats.snapshots).toBe(snapshots); // resumed from the revision, no re-list

        // Cut again, and compact past the watch's revision while it is away.
        proxy.cut();
        await interrupt(two);
        const three = t.track(etcdctlLock(ep, "w/three", 10));
        await lineMatching(three, /^w\/three\//);
        const head = (await t.s.raw.kv.range({ key: Buffer.from("w/") })).header.revision;
        await t.s.raw.kv.compact({ revision: head, physical: true });
        proxy.restore();
        await until("a re-list after compaction", () => a.stats.snapshots > snapshots && !hub.get("w/two/") && !!hub.get("w/three/"));

        // Still live after the re-list: a new lock shows up without another snapshot.
        const afterResync = a.stats.snapshots;
        t.track(etcdctlLock(ep, "w/four", 10));
        await until("w/four to appear live", () => !!hub.get("w/four/"));
        expect(a.stats.snapshots).toBe(afterResync);

        const fresh = await t.adapter({ prefixes: ["w/"] }).snapshot(signal);
        const view = (ls: Iterable<LockRecord>) => [...ls].map((l) => [l.key, fenceOf(l)]).sort();
        expect(view(hub.all())).toEqual(view(fresh.locks));
      } finally {
        await hub.stop();
        await proxy.close();
      }
    },
  );

  // Both ways a lock becomes known: the lease check must cover the snapshot's locks (their lock →
  // lease map is made at its first use) as well as those a re-read added.
  it.each([
    ["a lock the snapshot found", "n/early", true],
    ["a lock that arrived through the watch", "n/job", false],
  ])(
    "flags a holder that stops renewing as not-renewed (stale) while its lease still runs, and clears it when renewals resume: %s",
    { timeout: 40_000 },
    async (_, name, beforeStart) => {
      const ep = t.s.etcd.endpoint;
      const a = t.adapter({ prefixes: [`${name}/`], leaseCheckMs: 300 });
      const hub = new Hub("e1", a, new EventBus(), { healthIntervalMs: 600_000 });
      if (!beforeStart) hub.start();
      const holder = t.track(etcdctlLock(ep, name, 9));
      try {
        await lineMatching(holder, new RegExp(`^${name}/`));
        if (beforeStart) hub.start();
        const key = `${name}/`;
        await until("the lock live", () => !!hub.get(key) && hub.statusEvent().mode === "live");
        if (beforeStart) expect(a.stats.rereads).toBe(0); // it came with the snapshot
        process.kill(holder.pid, "SIGSTOP"); // its keep-alives stop; the lease keeps counting down
        try {
          await until("not-renewed", () => !!hub.get(key)?.warnings.includes("not-renewed"), 9_000);
          const l = hub.get(key)!;
          expect(lockStatus(l)).toBe("stale");
          const ttl = (await a.ttls([key], signal)).get(key)!;
          expect(ttl).toBeGreaterThan(0); // flagged before the lease ran out
        } finally {
          process.kill(holder.pid, "SIGCONT");
        }
        await until("renewed again", () => hub.get(key)?.warnings.includes("not-renewed") === false, 10_000);
      } finally {
        await hub.stop();
      }
    },
  );
});

// A lease call that fails while the keys read fine (a lost reply on the lease connection) leaves
// the records' TTL unknown and the connection with its "(leases)" problem. Both must clear once
// the lease answers again, without waiting for the next re-list (10 min): by re-reading the
// locks, or by one re-list when a re-read would mean a call per lock (RELIST_OVER_LOCKS).
describe("etcd lease calls failing, then answering again", () => {
  const t = etcdSuite();

  it.each([
    ["one lock: re-read", 1, "re-read"],
    [`${RELIST_OVER_LOCKS + 1} locks on the lease: one re-list`, RELIST_OVER_LOCKS + 1, "re-list"],
  ])("the unknown TTL and the connection's problem clear once the lease answers: %s", { timeout: 40_000 }, async (_, count, how) => {
    const prefix = `u${count}/`;
    const lease = t.s.raw.lease(120, { autoKeepAlive: false });
    const id = await lease.grant();
    const hex = BigInt(id).toString(16);
    const keys = Array.from({ length: count }, (_, i) => `${prefix}job${i}/`);
    for (let i = 0; i < keys.length; i += 200) await Promise.all(keys.slice(i, i + 200).map((k) => lease.put(`${k}${hex}`).value(""))); // the Mutex layout
    const proxy = await startFaultProxy(t.s.etcd.clientPort);
    const a = t.adapter({ prefixes: [prefix], leaseCheckMs: 300, requestTimeoutMs: 1_000 }, [proxy.endpoint]);
    const hub = new Hub("e1", a, new EventBus(), { healthIntervalMs: 600_000 });
    const leasesProblem = () => hub.currentProblems().some((p) => p.key === "(leases)" && p.code === "lease-ttl-unavailable");
    try {
      // The snapshot's call for this lease goes out and is never answered; 2 s later its connection resets.
      const lost = proxy.dropReplyAfter(encodeLeaseTimeToLiveRequest(id, false), { resetAfterMs: 2_000 });
      hub.start();
      await lost;
      await until("the TTL unknown, and the problem", () => !!hub.get(keys[0])?.warnings.includes("lease-ttl-unknown") && leasesProblem());
      expect(hub.get(keys[0])!.ttlMs).toBeNull();
      expect(a.stats.snapshots).toBe(1);

      await until(
        "the TTL known again, and no problem",
        () => keys.every((k) => hub.get(k)?.ttlMs != null && !hub.get(k)!.warnings.includes("lease-ttl-unknown")) && !leasesProblem(),
        10_000,
      );
      expect(hub.get(keys[0])!.ttlMs).toBeGreaterThan(100_000);
      if (how === "re-read") expect(a.stats.snapshots).toBe(1);
      else expect(a.stats.snapshots).toBe(2);
    } finally {
      await hub.stop();
      await proxy.close();
      await lease.revoke();
    }
  });
});

describe("etcd down", () => {
  it("keeps the last snapshot (stale), refuses a release as unconfirmable, and recovers when etcd is back", { timeout: 60_000 }, async () => {
    const etcd = await startEtcd();
    const raw = new Etcd3({ hosts: etcd.endpoint });
    const t = { adapters: [] as Array<{ close(): Promise<void> }> };
    try {
      const lease = raw.lease(300, { autoKeepAlive: false });
      const id = BigInt(await lease.grant()).toString(16);
      await lease.put(`d/job/${id}`).value(""); // the Mutex layout, on a long lease
      const { EtcdAdapter } = await import("./adapter");
      const { EtcdConnectionSchema } = await import("./config");
      const a = new EtcdAdapter(
        "d",
        EtcdConnectionSchema.parse({ id: "d", kind: "etcd", endpoints: [etcd.endpoint], prefixes: ["d/"], requestTimeoutMs: 1_000 }),
      );
      t.adapters.push(a);
      const hub = new Hub("d", a, new EventBus(), { healthIntervalMs: 300 });
      hub.start();
      try {
        await until("the lock", () => !!hub.get("d/job/"));
        const seen = hub.get("d/job/")!;
        await etcd.kill9();
        await until("the hub to see etcd down", () => hub.statusEvent().status === "unreachable" && hub.statusEvent().stale);
        expect(fenceOf(hub.get("d/job/")!)).toBe(fenceOf(seen)); // last snapshot kept
        expect((await a.health(signal)).status).toBe("unreachable");
        const out = await a.forceRelease(withFence(seen), "delete", signal);
        expect(out).toMatchObject({ status: "refused", reason: expect.stringMatching(/cannot confirm.*nothing was sent/) });
        await etcd.restart();
        await until("fresh again", () => hub.statusEvent().status === "ok" && !hub.statusEvent().stale && !!hub.get("d/job/"), 20_000);
        expect(await raw.get(`d/job/${id}`).exists()).toBe(true);
      } finally {
        await hub.stop();
      }
    } finally {
      raw.close();
      await etcd.stop();
    }
  });
});
