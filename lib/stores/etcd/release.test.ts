// Force-release against real holders (reliability.md §6 rows 6, 7, 8): the Go
// concurrency.Mutex/Election program from go.etcd.io/etcd/client/v3 (scripts/capture/etcd/go),
// the npm etcd3 Lock, and etcdctl. A missing Go toolchain fails the suite with how to install it.
import { beforeAll, describe, expect, it } from "vitest";
import { goHold, lineValue, prepareGoHold } from "../../../scripts/capture/etcd/hold";
import { decodeFence, fenceOf, withFence } from "../../fence";
import { guardedDelete } from "./txn";
import { etcdSuite, lockAt, lockWhen, signal } from "../../../test/support/etcd";

const BUILD_TIMEOUT_MS = 300_000;

describe("etcd force-release", () => {
  const t = etcdSuite();
  let go: string;
  beforeAll(async () => {
    go = await prepareGoHold();
  }, BUILD_TIMEOUT_MS);

  it("row 6: a guarded delete frees a Go Mutex for its waiter, which then holds it with a higher create_revision; the holder is not told", async () => {
    const ep = t.s.etcd.endpoint;
    const a = t.adapter({ prefixes: ["g1/"] });
    const holder = t.track(goHold(go, ep, ["mutex:g1/job"]));
    await holder.waitForLine("READY", 20_000);
    const waiter = t.track(goHold(go, ep, ["mutex:g1/job"]));
    const seen = await lockWhen(a, "g1/job/", (l) => l.waiters.length === 1, "the Go waiter to queue");
    const holderKey = lineValue(holder, "HELD").split(" ")[0];
    expect(seen.holders[0].id).toBe(lineValue(holder, "LEASE"));

    const plan = a.describeRelease(withFence(seen), "delete");
    expect(plan.modes).toEqual(["delete", "revoke-lease"]);
    expect(plan.holderNotified).toBe(false);
    expect(plan.deletes).toContain(`create_revision is ${seen.fencingToken}`);
    expect(plan.command).toContain(`create(${JSON.stringify(holderKey)}) = "${seen.fencingToken}"`);
    expect(plan.command).toContain(`del ${JSON.stringify(holderKey)}`);
    expect(plan.wakes).toContain(lineValue(waiter, "LEASE"));

    const out = await a.forceRelease(withFence(seen), "delete", signal);
    expect(out).toMatchObject({ status: "released" });
    await waiter.waitForLine("READY", 15_000);
    const newRev = Number(lineValue(waiter, "HELD").split(" ")[1]);
    expect(newRev).toBeGreaterThan(Number(seen.fencingToken));
    const now = await lockAt(a, "g1/job/");
    expect(now.holders[0].id).toBe(lineValue(waiter, "LEASE"));
    expect(Number(now.fencingToken)).toBeGreaterThan(Number(seen.fencingToken));
    // Its session and lease are alive: nothing told the old holder.
    expect(holder.running()).toBe(true);
    expect(holder.lines()).not.toContain("SESSION-LOST");
  });

  it("row 7: after the holder released and re-acquired, a release of what was seen changes nothing (changed, with the new holding)", async () => {
    const a = t.adapter({ prefixes: ["g2/"] });
    const { Etcd3 } = await import("etcd3");
    const js = new Etcd3({ hosts: t.s.etcd.endpoint });
    try {
      const first = js.lock("g2/job").ttl(30);
      await first.acquire();
      const seen = await lockAt(a, "g2/job");
      await first.release();
      const second = js.lock("g2/job").ttl(30);
      await second.acquire();
      const out = await a.forceRelease(withFence(seen), "delete", signal);
      expect(out.status).toBe("changed");
      const cur = (out as { current: { holders: Array<{ id: string }>; fencingToken?: string } }).current;
      expect(cur.holders[0].id).toBe(BigInt((await second.leaseId())!).toString(16));
      expect(Number(cur.fencingToken)).toBeGreaterThan(Number(seen.fencingToken));
      expect(await js.get("g2/job").exists()).toBe(true);
      // The revoke mode checks the holding first too: nothing is revoked.
      expect((await a.forceRelease(withFence(seen), "revoke-lease", signal)).status).toBe("changed");
      expect(await js.get("g2/job").exists()).toBe(true);
      await second.release();
      expect((await a.forceRelease(withFence(seen), "delete", signal)).status).toBe("gone");
    } finally {
      js.close();
    }
  });

  it("row 8: revoking a lease that holds two locks and an election lists all three keys first, deletes them all, and the holder sees its session lost", async () => {
    const ep = t.s.etcd.endpoint;
    const a = t.adapter({ prefixes: ["g3/", "g3e/"] });
    // TTL 6: the Go client's keep-alive (every TTL/3) notices the revoke within 2 s.
    const holder = t.track(goHold(go, ep, ["mutex:g3/orders", "mutex:g3/payments", "elect:g3e/billing=worker-7"], 6));
    await holder.waitForLine("READY", 20_000);
    const waiter = t.track(goHold(go, ep, ["mutex:g3/orders"]));
    await lockWhen(a, "g3/orders/", (l) => l.waiters.length === 1, "the waiter to queue");

    // What the lock page shows: the record re-read with the lease's attached keys.
    const { locks } = await a.reread(["g3/orders/"], signal);
    const seen = locks[0];
    const lease = lineValue(holder, "LEASE");
    const keys = [`g3/orders/${lease}`, `g3/payments/${lease}`, `g3e/billing/${lease}`];
    expect([...seen.holders[0].lease!.keys!].sort()).toEqual(keys.sort());
    const plan = a.describeRelease(withFence(seen), "revoke-lease");
    expect(plan.holderNotified).toBe(true);
    for (const k of keys) expect(plan.deletes).toContain(k);
    expect(plan.command).toContain(`lease timetolive ${lease} --keys`);
    expect(plan.command).toContain(`lease revoke ${lease}`);

    const out = await a.forceRelease(withFence(seen), "revoke-lease", signal);
    expect(out.status).toBe("released");
    for (const k of keys) expect((out as { detail: string }).detail).toContain(k);
    await holder.waitForLine("SESSION-LOST", 15_000);
    for (const k of keys) expect((await t.s.raw.kv.range({ key: Buffer.from(k) })).kvs).toEqual([]);
    await waiter.waitForLine("READY", 15_000);
    expect(decodeFence(fenceOf(await lockAt(a, "g3/orders/"))).h.l).not.toBe(decodeFence(fenceOf(seen)).h.l);
  });

  it("revoke-lease is refused, nothing sent, while the lease also holds a key outside the prefixes, even one attached after the operator looked", async () => {
    const a = t.adapter({ prefixes: ["g6/"] });
    const { Etcd3 } = await import("etcd3");
    const js = new Etcd3({ hosts: t.s.etcd.endpoint });
    try {
      const lock = js.lock("g6/job").ttl(30);
      await lock.acquire();
      const lease = (await lock.leaseId())!;
      const seen = (await a.reread(["g6/job"], signal)).locks[0];
      expect(a.describeRelease(withFence(seen), "revoke-lease").modes).toEqual(["delete", "revoke-lease"]);
      // The same session registers a service outside this connection's prefixes.
      await js.put("svc/web-1").value("up").lease(lease);
      const out = await a.forceRelease(withFence(seen), "revoke-lease", signal);
      expect(out).toMatchObject({
        status: "refused",
        reason: expect.stringMatching(
          /^mode: revoking lease [0-9a-f]+ would also delete 1 key outside this connection's prefixes \(not named here\): nothing was sent/,
        ),
      });
      expect(await js.get("svc/web-1").string()).toBe("up");
      expect(await js.get("g6/job").exists()).toBe(true);
      // Read again, the plan no longer offers the revoke, and says why.
      const now = (await a.reread(["g6/job"], signal)).locks[0];
      const plan = a.describeRelease(withFence(now), "revoke-lease");
      expect(plan.modes).toEqual(["delete"]);
      expect(plan.notes.join(" ")).toMatch(
        /Revoking lease [0-9a-f]+ is not offered: it also holds 1 key outside this connection's prefixes \(not named here\)/,
      );
      expect(JSON.stringify(now)).not.toContain("svc/web-1");
      expect(JSON.stringify(plan)).not.toContain("svc/web-1");
      // The guarded delete touches the holder key only.
      expect((await a.forceRelease(withFence(now), "delete", signal)).status).toBe("released");
      expect(await js.get("g6/job").exists()).toBe(false);
      expect(await js.get("svc/web-1").string()).toBe("up");
    } finally {
      js.close();
    }
  });

  it("revoke-lease: a holder that unlocked and locked again on the same lease after LockDeck's re-read is not revoked (the guarded delete goes first)", async () => {
    const a = t.adapter({ prefixes: ["g7/"] });
    const { Etcd3 } = await import("etcd3");
    const js = new Etcd3({ hosts: t.s.etcd.endpoint });
    try {
      const lock = js.lock("g7/job").ttl(30);
      await lock.acquire();
      const lease = (await lock.leaseId())!;
      const seen = await lockAt(a, "g7/job");
      // The holder unlocks and locks again on its lease (a new create_revision) just as
      // LockDeck lists the lease's keys, after its re-read of the holder key: the window the
      // audit hit 4 times in 60 with real timing, made certain here by doing it in that step.
      const rpc = a.client.rpc;
      const listKeys = rpc.leaseTimeToLive.bind(rpc);
      let relocked = false;
      rpc.leaseTimeToLive = async (...args: Parameters<typeof listKeys>) => {
        if (!relocked) {
          relocked = true;
          await js.delete().key("g7/job");
          await js.put("g7/job").value("").lease(lease);
        }
        return listKeys(...args);
      };
      const out = await a.forceRelease(withFence(seen), "revoke-lease", signal);
      expect(relocked).toBe(true);
      expect(out.status).toBe("changed");
      expect(await js.get("g7/job").exists()).toBe(true);
      expect(Number((await a.client.leaseClient.leaseTimeToLive({ ID: lease })).TTL)).toBeGreaterThan(0);
    } finally {
      js.close();
    }
  });

  it("the guarded txn itself (without LockDeck's re-read in front) deletes only the exact revision seen", async () => {
    const { Etcd3 } = await import("etcd3");
    const js = new Etcd3({ hosts: t.s.etcd.endpoint });
    try {
      const key = Buffer.from("g5/job");
      await js.put("g5/job").value("");
      const first = (await js.kv.range({ key })).kvs[0];
      await js.delete().key("g5/job");
      await js.put("g5/job").value(""); // re-created: new create and mod revision
      const stale = await guardedDelete(js, key, { cr: String(first.create_revision), mr: String(first.mod_revision) });
      expect(stale.succeeded).toBe(false);
      expect(await js.get("g5/job").exists()).toBe(true);
      await js.put("g5/job").value("x"); // same create_revision, new mod_revision
      const now = (await js.kv.range({ key })).kvs[0];
      expect((await guardedDelete(js, key, { cr: String(now.create_revision), mr: String(first.mod_revision) })).succeeded).toBe(false);
      expect((await guardedDelete(js, key, { cr: String(now.create_revision), mr: String(now.mod_revision) })).succeeded).toBe(true);
      expect(await js.get("g5/job").exists()).toBe(false);
    } finally {
      js.close();
    }
  });

  it("refuses a mode etcd has no such thing for, and leaves the lock as it was", async () => {
    const a = t.adapter({ prefixes: ["g4/"] });
    const holder = t.track(goHold(go, t.s.etcd.endpoint, ["mutex:g4/job"], 30));
    await holder.waitForLine("READY", 20_000);
    const seen = await lockAt(a, "g4/job/");
    expect(await a.forceRelease(withFence(seen), "destroy-session", signal)).toMatchObject({ status: "refused" });
    expect(fenceOf(await lockAt(a, "g4/job/"))).toBe(fenceOf(seen));
  });
});
