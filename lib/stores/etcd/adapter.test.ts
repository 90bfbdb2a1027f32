// The etcd adapter reading a real etcd 3.4 member: locks taken for real by etcdctl, the npm
// etcd3 package and the server's v3lock API; paging at one revision; size guards; user/password
// auth and TLS; the cluster status line. (Releases: release.test.ts; live feed and faults:
// live.test.ts; a 3-member cluster: cluster.test.ts; Go programs: release.test.ts.)
import { describe, expect, it } from "vitest";
import { Etcd3 } from "etcd3";
import { etcdctlLock, etcdctlElect } from "../../../scripts/capture/etcd/hold";
import { etcdctl, startEtcd } from "../../../scripts/servers/etcd";
import { decodeFence, fenceOf, withFence } from "../../fence";
import { holderKeyOf } from "../../formats/etcd";
import type { EtcdClient } from "./client";
import { etcdSuite, lineMatching, lockAt, lockWhen, signal, suffix } from "../../../test/support/etcd";

describe("etcd adapter: reading", () => {
  const t = etcdSuite();

  it("shows an etcdctl lock holder and its waiter, the store's lease TTL, the fencing token and the cluster status", async () => {
    const ep = t.s.etcd.endpoint;
    const a = t.adapter({ prefixes: ["r1/"] });
    const holder = t.track(etcdctlLock(ep, "r1/job", 10));
    const holderKey = await lineMatching(holder, /^r1\/job\//);
    t.track(etcdctlLock(ep, "r1/job", 10));
    const l = await lockWhen(a, "r1/job/", (x) => x.waiters.length === 1, "the waiter to queue");

    expect(l).toMatchObject({ name: "r1/job", format: "etcd.mutex", kind: "mutex", state: "held", ttlSource: "lease" });
    expect(l.holders[0].id).toBe(suffix(holderKey));
    const kv = (await t.s.raw.kv.range({ key: Buffer.from(holderKey) })).kvs[0];
    expect(l.fencingToken).toBe(String(kv.create_revision));
    expect(l.holders[0].lease).toMatchObject({ id: suffix(holderKey), grantedTtlMs: 10_000 });
    expect(l.ttlMs).toBeGreaterThan(0);
    expect(l.ttlMs).toBeLessThanOrEqual(10_000);
    expect(l.consistency).toBe("linearizable (via etcd-0)");

    const h = await a.health(signal);
    expect(h.status).toBe("ok");
    expect(h.server).toMatch(/^etcd 3\.\d+\.\d+ · 1 member · leader etcd-0 · raft term \d+ · index \d+ · answered by etcd-0$/);

    // Fresh TTLs for a page come from LeaseTimeToLive, per lock key.
    const ttls = await a.ttls(["r1/job/"], signal);
    expect(ttls.get("r1/job/")).toBeGreaterThan(0);
  });

  it("shows an etcdctl elect leader's value and the candidate behind it", async () => {
    const ep = t.s.etcd.endpoint;
    const a = t.adapter({ prefixes: ["r2/"] });
    const leader = t.track(etcdctlElect(ep, "r2/web", "alpha"));
    await lineMatching(leader, /^alpha$/);
    t.track(etcdctlElect(ep, "r2/web", "beta"));
    const l = await lockWhen(a, "r2/web/", (x) => x.waiters.length === 1, "the candidate to queue");
    expect(l).toMatchObject({ format: "etcd.election", kind: "election" });
    expect(l.holders[0].owner).toBe("alpha");
    expect(l.waiters[0].owner).toBe("beta");
  });

  it("decodes the npm etcd3 Lock and Election taken for real, and the server's v3lock API", async () => {
    const ep = t.s.etcd.endpoint;
    const a = t.adapter({ prefixes: ["r3/", "election/r3-"] });
    const js = new Etcd3({ hosts: ep });
    try {
      const lock = js.lock("r3/js-lock").ttl(20);
      await lock.acquire();
      const campaign = js
        .election("r3-web", 20)
        .campaign("node-1")
        .on("error", () => {});
      await campaign.wait();
      const post = (p: string, body: unknown) =>
        fetch(new URL(p, ep), { method: "POST", body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, string>>);
      const lease = (await post("/v3/lease/grant", { TTL: 30 })).ID;
      const got = await post("/v3/lock/lock", { name: Buffer.from("r3/api").toString("base64"), lease });

      const snap = await a.snapshot(signal);
      const by = new Map(snap.locks.map((l) => [l.key, l]));
      expect(by.get("r3/js-lock")).toMatchObject({ format: "etcd3js.lock", waiters: [] });
      expect(by.get("r3/js-lock")!.holders[0].id).toBe(BigInt((await lock.leaseId())!).toString(16));
      expect(by.get("election/r3-web/")).toMatchObject({ format: "etcd3js.election", kind: "election" });
      expect(by.get("election/r3-web/")!.holders[0].owner).toBe("node-1");
      expect(by.get("r3/api/")).toMatchObject({ format: "etcd.mutex" });
      expect(holderKeyOf("r3/api/", "etcd.mutex", decodeFence(fenceOf(by.get("r3/api/")!)).h)).toBe(Buffer.from(got.key, "base64").toString());
      await lock.release();
      await campaign.resign();
    } finally {
      js.close();
    }
  });

  it("reads in pages (pageSize first, then growing) at ONE revision: a write during the paging is not half-seen", async () => {
    const a = t.adapter({ prefixes: ["r4/"], pageSize: 1_000 });
    const lease = t.s.raw.lease(60, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    const names = Array.from({ length: 2_500 }, (_, i) => `r4/k${String(i).padStart(5, "0")}`);
    for (let i = 0; i < names.length; i += 128) {
      await t.s.raw.kv.txn({ success: names.slice(i, i + 128).map((k) => ({ request_put: { key: Buffer.from(k), value: Buffer.alloc(0), lease: leaseId } })) });
    }
    // Put a key that sorts first while the second page is being read.
    const range = a.client.rpc.range.bind(a.client.rpc);
    let calls = 0;
    a.client.rpc.range = (async (req, deadlineMs) => {
      if (++calls === 2) await t.s.raw.lease(60, { autoKeepAlive: false }).put("r4/a-late").value("");
      return range(req, deadlineMs);
    }) as typeof range;
    const before = a.stats.ranges;
    const snap = await a.snapshot(signal);
    a.client.rpc.range = range;
    expect(a.stats.ranges - before).toBe(2); // a page of 1000 (its reply counts the prefix), then one of up to 4000 (the other 1500)
    expect(snap.locks).toHaveLength(2_500);
    expect(snap.locks.some((l) => l.key === "r4/a-late")).toBe(false);
    expect((await a.snapshot(signal)).locks).toHaveLength(2_501);
    await lease.revoke();
  });

  it("reads the TTL of holders' leases only: a waiter's lease shows on no record", async () => {
    const a = t.adapter({ prefixes: ["r7/"] });
    const leases = [];
    for (let i = 0; i < 4; i++) leases.push(t.s.raw.lease(60 + i, { autoKeepAlive: false }));
    const ids = await Promise.all(leases.map((l) => l.grant()));
    // Go Mutex layout: first created holds, the other three wait.
    for (const id of ids) await t.s.raw.kv.put({ key: Buffer.from(`r7/job/${BigInt(id).toString(16)}`), value: Buffer.alloc(0), lease: id });
    const before = a.stats.leaseCalls;
    const lock = await lockAt(a, "r7/job/");
    expect(a.stats.leaseCalls - before).toBe(1);
    expect(lock.waiters).toHaveLength(3);
    expect(lock.holders[0].lease).toMatchObject({ id: BigInt(ids[0]).toString(16), grantedTtlMs: 60_000 });
    expect(lock.ttlMs).toBeGreaterThan(50_000);
    for (const l of leases) await l.revoke();
  });

  it("refuses a prefix with more keys than maxKeysPerPrefix, and reads a page too big for one reply key by key", async () => {
    const big = t.adapter({ prefixes: ["r5/"], maxKeysPerPrefix: 10 });
    const capped = t.adapter({ prefixes: ["r5/"], maxReplyBytes: 64 * 1024, pageSize: 100 });
    const lease = t.s.raw.lease(60, { autoKeepAlive: false });
    for (let i = 0; i < 12; i++) await lease.put(`r5/k${i}`).value("x".repeat(20 * 1024));
    const tooMany = await big.snapshot(signal);
    expect(tooMany.locks).toEqual([]);
    expect(tooMany.problems).toContainEqual(expect.objectContaining({ key: "r5/", code: "prefix-too-large", message: expect.stringMatching(/^12 keys/) }));
    // Refused from the first page's count, also when that page is too big for one reply: its
    // keys-only read counts 12, and no value is fetched one by one.
    const bigAndCapped = t.adapter({ prefixes: ["r5/"], maxKeysPerPrefix: 10, maxReplyBytes: 64 * 1024, pageSize: 100 });
    const before = bigAndCapped.stats.ranges;
    const refused = await bigAndCapped.snapshot(signal);
    expect(refused.problems).toContainEqual(expect.objectContaining({ key: "r5/", code: "prefix-too-large" }));
    expect(bigAndCapped.stats.ranges - before).toBe(2);
    const snap = await capped.snapshot(signal);
    expect(snap.locks).toHaveLength(12); // 12 × 20 KiB would be a 240 KiB reply
    expect(snap.locks.every((l) => l.format === "etcd.unknown" && l.warnings[0] === "not-a-lock-layout")).toBe(true);
    await lease.revoke();
  });

  it("reads a grown page that turns out too big for one reply again at pageSize, not key by key", async () => {
    const a = t.adapter({ prefixes: ["r8/"], maxReplyBytes: 64 * 1024, pageSize: 10 });
    const lease = t.s.raw.lease(60, { autoKeepAlive: false });
    for (let i = 0; i < 10; i++) await lease.put(`r8/a${i}`).value("");
    // The first page (10 tiny keys) lets the next grow to 40 keys: 30 × 4 KiB is over 64 KiB.
    for (let i = 0; i < 30; i++) await lease.put(`r8/b${String(i).padStart(2, "0")}`).value("x".repeat(4 * 1024));
    const before = a.stats.ranges;
    const snap = await a.snapshot(signal);
    expect(snap.locks).toHaveLength(40);
    expect(snap.problems.filter((p) => p.code === "value-too-large")).toEqual([]);
    // 10 tiny (the reply counts the prefix), the grown page refused, then 3 pages of 10 (4 KiB a key keeps them there)
    expect(a.stats.ranges - before).toBe(5);
    await lease.revoke();
  });

  it("shows keys without a lock shape as unknown records that cannot be released, and a read-only connection releases nothing", async () => {
    const a = t.adapter({ prefixes: ["r6/"] });
    const ro = t.adapter({ prefixes: ["r6/"], readOnly: true });
    await t.s.raw.put("r6/plain").value("1");
    const lease = t.s.raw.lease(60, { autoKeepAlive: false });
    await lease.put("r6/js").value("");
    const unknown = await lockAt(a, "r6/plain");
    expect(unknown).toMatchObject({ format: "etcd.unknown", state: "unknown", warnings: ["no-lease"] });
    // Whole snapshots carry no previews (the table never shows them); a re-read of the lock does.
    expect(unknown.raw).toBeUndefined();
    expect((await a.reread(["r6/plain"], signal)).locks[0].raw?.[0]).toMatchObject({ encoding: "text", preview: "1" });
    expect(a.describeRelease(withFence(unknown), "delete").modes).toEqual([]);
    expect(await a.forceRelease(withFence(unknown), "delete", signal)).toMatchObject({ status: "refused" });
    const js = await lockAt(ro, "r6/js");
    expect(ro.describeRelease(withFence(js), "delete").modes).toEqual([]);
    expect(await ro.forceRelease(withFence(js), "delete", signal)).toEqual({ status: "refused", reason: "this connection is read-only" });
    expect(await t.s.raw.get("r6/js").exists()).toBe(true);
    await lease.revoke();
  });
});

describe("etcd adapter: user/password and TLS", () => {
  it("signs in with a user and password; a wrong password is unreachable, not a crash", async () => {
    const etcd = await startEtcd();
    try {
      await etcdctl(etcd.endpoint, ["user", "add", "root", "--new-user-password=s3cret-root"]);
      await etcdctl(etcd.endpoint, ["auth", "enable"]);
      await etcdctl(etcd.endpoint, ["--user=root:s3cret-root", "put", "a1/job/1", ""]).catch(() => {});
      const { EtcdAdapter } = await import("./adapter");
      const { EtcdConnectionSchema } = await import("./config");
      const mk = (password: string) =>
        new EtcdAdapter(
          "a",
          EtcdConnectionSchema.parse({
            id: "a",
            kind: "etcd",
            endpoints: [etcd.endpoint],
            prefixes: ["a1/"],
            username: "root",
            password,
            requestTimeoutMs: 2_000,
          }),
        );
      const good = mk("s3cret-root");
      const bad = mk("wrong");
      try {
        const snap = await good.snapshot(signal);
        expect(snap.problems.find((p) => p.key === "a1/job/1")).toBeTruthy(); // lease 0: no-lease
        expect((await good.health(signal)).status).toBe("ok");
        const h = await bad.health(signal);
        expect(h.status).toBe("unreachable");
        expect(h.message).toMatch(/auth|password|authentication/i);
      } finally {
        await good.close();
        await bad.close();
      }
    } finally {
      await etcd.stop();
    }
  });

  it("presents a client certificate to a server that demands one (tls.cert + tls.key)", async () => {
    const etcd = await startEtcd({ tls: true, clientCertAuth: true });
    try {
      const { EtcdAdapter } = await import("./adapter");
      const { EtcdConnectionSchema } = await import("./config");
      const tls = etcd.tls!;
      const mk = (withCert: boolean) =>
        new EtcdAdapter(
          "c",
          EtcdConnectionSchema.parse({
            id: "c",
            kind: "etcd",
            endpoints: [etcd.endpoint],
            prefixes: ["c1/"],
            requestTimeoutMs: 2_000,
            tls: withCert ? { ca: tls.caFile, cert: tls.clientCertFile, key: tls.clientKeyFile } : { ca: tls.caFile },
          }),
        );
      const good = mk(true);
      const bad = mk(false);
      try {
        await etcdctl(etcd.endpoint, ["put", "c1/x", "1"], { tls });
        expect((await good.snapshot(signal)).locks.map((l) => l.key)).toEqual(["c1/x"]);
        expect((await bad.health(signal)).status).toBe("unreachable");
        // Lease calls as plain HTTP/2 streams (streams.ts) present the same certificate.
        const { rpc } = (good as unknown as { client: EtcdClient }).client;
        expect((await rpc.leaseTimeToLive("123456789", false, 2_000)).ttlSec).toBe(-1);
        expect(rpc.streams!.served).toBe(1);
      } finally {
        await good.close();
        await bad.close();
      }
    } finally {
      await etcd.stop();
    }
  });

  it("talks TLS with the configured CA, and refuses a server it cannot verify", async () => {
    const etcd = await startEtcd({ tls: true });
    try {
      const { EtcdAdapter } = await import("./adapter");
      const { EtcdConnectionSchema } = await import("./config");
      const mk = (ca?: string) =>
        new EtcdAdapter(
          "t",
          EtcdConnectionSchema.parse({
            id: "t",
            kind: "etcd",
            endpoints: [etcd.endpoint],
            prefixes: ["t1/"],
            tls: ca ? { ca } : undefined,
            requestTimeoutMs: 2_000,
          }),
        );
      const good = mk(etcd.tls!.caFile);
      const bad = mk();
      try {
        await etcdctl(etcd.endpoint, ["put", "t1/x", "1"], { tls: etcd.tls });
        expect((await good.snapshot(signal)).locks.map((l) => l.key)).toEqual(["t1/x"]);
        expect((await bad.health(signal)).status).toBe("unreachable");
      } finally {
        await good.close();
        await bad.close();
      }
    } finally {
      await etcd.stop();
    }
  });
});
