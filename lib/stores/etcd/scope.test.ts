// Scope on etcd, against a real etcd 3.4: reads by key and releases stay under the connection's
// prefixes, a release deletes only the lock's own holder key, and the leases page never names
// keys outside the prefixes. Fences are signed with this process's key, as if a decoder had a
// bug; the store is checked with the npm etcd3 client.

import { describe, expect, it } from "vitest";
import { etcdSuite, lockAt, signal } from "../../../test/support/etcd";
import { fenceOf } from "../../fence";
import { aimedView } from "../../../test/support/aimed";

const aimed = (key: string, format: string, h: Record<string, string | number | null>) => aimedView("e1", key, format, h, "lease");

describe("etcd scope", () => {
  const t = etcdSuite();

  it("a read by key outside the prefixes reaches nothing; keys are bytes, so '..' is no way out", async () => {
    await t.s.raw.put("secret/db-password").value("hunter2");
    const a = t.adapter({ prefixes: ["locks/"] });
    expect(a.keyProblem("secret/db-password")).toMatchObject({
      code: "out_of_scope",
      message: expect.stringMatching(/^key: "secret\/db-password" is not under/),
    });
    expect(a.keyProblem("locks/../secret/db-password")).toBeNull(); // a literal key under locks/
    const before = a.stats.ranges;
    const { locks } = await a.reread(["secret/db-password", "secret/"], signal);
    expect(locks).toEqual([]);
    expect(a.stats.ranges).toBe(before);
    // The literal key under the prefix is read as what it is: nothing there.
    expect((await a.reread(["locks/../secret/db-password"], signal)).locks).toEqual([]);
  });

  it("a fence for a key outside the prefixes, or a holder key outside the lock, deletes nothing", async () => {
    const lease = t.s.raw.lease(30);
    await lease.put("locks/job/" + BigInt(await lease.grant()).toString(16)).value("");
    await t.s.raw.put("secret/db-password").value("hunter2");
    const a = t.adapter({ prefixes: ["locks/"] });
    const seen = await lockAt(a, "locks/job/");
    const secret = await t.s.raw.get("secret/db-password").exec();
    const rev = secret.kvs[0];
    const outside = aimed("secret/", "etcd.mutex", { t: "kv", k: "secret/db-password", cr: String(rev.create_revision), mr: String(rev.mod_revision), l: "0" });
    expect(await a.forceRelease(outside, "delete", signal)).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/not under this connection's prefixes.*nothing was sent/),
    });
    const reaimed = aimed("locks/job/", "etcd.mutex", {
      t: "kv",
      k: "secret/db-password",
      cr: String(rev.create_revision),
      mr: String(rev.mod_revision),
      l: "0",
    });
    expect(await a.forceRelease(reaimed, "delete", signal)).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/holder key "secret\/db-password" is not part of the lock locks\/job\//),
    });
    expect(await a.forceRelease(reaimed, "revoke-lease", signal)).toMatchObject({ status: "refused" });
    expect(await t.s.raw.get("secret/db-password").string()).toBe("hunter2");
    expect(fenceOf(await lockAt(a, "locks/job/"))).toBe(fenceOf(seen));
    await lease.revoke();
  });

  it("the leases page counts keys outside the prefixes and never names them", async () => {
    const lease = t.s.raw.lease(30);
    const id = await lease.grant();
    await lease.put("locks/pay/" + BigInt(id).toString(16)).value("");
    await lease.put("secret/session-token").value("abc");
    const a = t.adapter({ prefixes: ["locks/"] });
    await a.snapshot(signal);
    const page = await a.leases(signal);
    const row = page.leases.find((l) => l.id === String(id))!;
    expect(row.keys).toEqual([`locks/pay/${BigInt(id).toString(16)}`]);
    expect(row.keysElsewhere).toBe(1);
    expect(JSON.stringify(page)).not.toContain("secret/session-token");
    await lease.revoke();
  });
});
