// The lean Range and LeaseTimeToLive calls (rpc.ts, wire.ts) against a real etcd 3.4 member:
// every field they read must equal what etcd3's own decoder makes of the same reply, for keys
// that are not UTF-8, keys that look like our base64 form, values, big and absent leases, an
// expired lease; and an expired auth token must not fail a read.
import { describe, expect, it } from "vitest";
import { EtcdInvalidAuthTokenError } from "etcd3";
import { etcdctl, startEtcd } from "../../../scripts/servers/etcd";
import { waitFor } from "../../../scripts/servers/process";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { etcdSuite } from "../../../test/support/etcd";
import { createClient } from "./client";
import { EtcdConnectionSchema } from "./config";
import { entryOf } from "./read";
import { keyFromBytes } from "../../keys";
import { encodeRangeRequest } from "./wire";

const client = (endpoint: string, more: Record<string, unknown> = {}) =>
  createClient(EtcdConnectionSchema.parse({ id: "w", kind: "etcd", endpoints: [endpoint], prefixes: ["w/"], ...more }));

describe("etcd lean calls: Range and LeaseTimeToLive read as etcd3 reads them", () => {
  const t = etcdSuite();

  it("decodes every KeyValue field, the header, more and count exactly as etcd3 does", async () => {
    const raw = t.s.raw;
    const lease = await raw.lease(60, { autoKeepAlive: false }).grant();
    const keys: Array<[Buffer, Buffer, string]> = [
      [Buffer.from("w/a/plain"), Buffer.alloc(0), lease],
      [Buffer.from("w/b/ünïcode"), Buffer.from('{"owner":"x"}'), lease],
      [Buffer.from([0x77, 0x2f, 0x63, 0xff, 0xfe]), Buffer.from([0, 1, 2, 0xff]), "0"], // not UTF-8
      [Buffer.from("w/d/base64:looks-encoded"), Buffer.alloc(0), lease],
      [Buffer.from("w/e/big"), Buffer.alloc(200_000, 0x61), "0"],
    ];
    for (const [key, value, l] of keys) await raw.kv.put({ key, value, lease: l });
    await raw.kv.put({ key: Buffer.from("w/a/plain"), value: Buffer.alloc(0), lease }); // version 2
    const c = client(t.s.etcd.endpoint);
    try {
      const key = Buffer.from("w/");
      const rangeEnd = Buffer.from("w0");
      for (const limit of [0, 2]) {
        const mine = await c.rpc.range({ key, rangeEnd, limit }, 3_000);
        const theirs = await raw.kv.range({ key, range_end: rangeEnd, limit, revision: mine.revision });
        expect(mine.entries).toEqual(theirs.kvs.map(entryOf));
        expect(mine.entries.length).toBe(limit || keys.length);
        expect(mine.more).toBe(theirs.more);
        expect(mine.count).toBe(Number((theirs as { count?: string }).count));
        expect(mine.revision).toBe(String(theirs.header.revision));
        expect(mine.memberId).toBe(BigInt(theirs.header.member_id).toString(16));
        expect(mine.lastKey).toEqual(theirs.kvs[theirs.kvs.length - 1].key);
      }
      const counted = await c.rpc.range({ key, rangeEnd, countOnly: true }, 3_000);
      expect([counted.count, counted.entries.length]).toEqual([keys.length, 0]);
      const keysOnly = await c.rpc.range({ key, rangeEnd, keysOnly: true, serializable: true }, 3_000);
      expect(keysOnly.entries.map((e) => [e.key, e.value.length])).toEqual(
        (await raw.kv.range({ key, range_end: rangeEnd })).kvs.map((kv) => [entryOf(kv).key, 0]),
      );
      const none = await c.rpc.range({ key: Buffer.from("w/nothing") }, 3_000);
      expect([none.entries, none.lastKey, none.more]).toEqual([[], null, false]);
      // A pinned revision is honoured: the key deleted after it is still there at it.
      const before = (await c.rpc.range({ key: Buffer.from("w/a/plain") }, 3_000)).revision;
      await raw.kv.deleteRange({ key: Buffer.from("w/a/plain") });
      expect((await c.rpc.range({ key: Buffer.from("w/a/plain"), revision: before }, 3_000)).entries).toHaveLength(1);
    } finally {
      c.close();
    }
  });

  it("reads a lease's TTL, granted TTL and keys as etcd3 does; an expired or unknown lease is -1", async () => {
    const raw = t.s.raw;
    const held = raw.lease(120, { autoKeepAlive: false });
    await held.put("w/l/one").value("");
    await held.put(Buffer.from([0x77, 0x2f, 0x6c, 0xff])).value("");
    const id = await held.grant();
    const c = client(t.s.etcd.endpoint);
    try {
      const mine = await c.rpc.leaseTimeToLive(id, true, 3_000);
      const theirs = await raw.leaseClient.leaseTimeToLive({ ID: id, keys: true });
      expect(mine.grantedSec).toBe(Number(theirs.grantedTTL));
      expect(Math.abs(mine.ttlSec - Number(theirs.TTL))).toBeLessThanOrEqual(1);
      expect(mine.ttlSec).toBeGreaterThan(100);
      expect(mine.keys.sort()).toEqual(theirs.keys.map((k) => keyFromBytes(k)).sort());
      // Without keys the call goes as a plain HTTP/2 stream (streams.ts), with the same answer.
      expect(c.rpc.streams!.served).toBe(0);
      const lean = await c.rpc.leaseTimeToLive(id, false, 3_000);
      expect(c.rpc.streams!.served).toBe(1);
      expect(lean.grantedSec).toBe(Number(theirs.grantedTTL));
      expect(Math.abs(lean.ttlSec - Number(theirs.TTL))).toBeLessThanOrEqual(1);
      expect(lean.keys).toEqual([]);
      await held.revoke();
      expect(await c.rpc.leaseTimeToLive(id, false, 3_000)).toEqual({ ttlSec: -1, grantedSec: 0, keys: [] });
      expect((await c.rpc.leaseTimeToLive("123456789", false, 3_000)).ttlSec).toBe(-1);
      expect(c.rpc.streams!.served).toBe(3);
    } finally {
      c.close();
    }
  });
});

describe("etcd lean calls: LeaseTimeToLive streams under faults (a real TCP proxy)", () => {
  const t = etcdSuite();

  it("gives up at the call's own deadline when nothing answers, and answers through etcd3 after the streams' connection failed", async () => {
    const proxy = await startFaultProxy(t.s.etcd.clientPort);
    const c = client(proxy.endpoint);
    const ttl = (ms = 3_000) => c.rpc.leaseTimeToLive("123456789", false, ms);
    try {
      expect((await ttl()).ttlSec).toBe(-1);
      expect(c.rpc.streams!.served).toBe(1);
      // Nothing answers: the stream's own deadline ends the call; no second wait through etcd3.
      proxy.blackhole();
      const t0 = performance.now();
      await expect(ttl(800)).rejects.toThrow(/no answer within 800 ms/);
      expect(performance.now() - t0).toBeLessThan(1_500);
      // Every connection reset and refused: the stream fails, and so does etcd3's call.
      proxy.cut();
      await expect(ttl(1_000)).rejects.toThrow();
      proxy.restore();
      // Back: answered, through etcd3 while the streams rest after their failed connection.
      await waitFor(async () => (await ttl().catch(() => null))?.ttlSec === -1, { timeoutMs: 10_000, what: "an answer after the cut" });
      expect(c.rpc.streams!.served).toBe(1);
    } finally {
      proxy.restore();
      c.close();
      await proxy.close();
    }
  });

  it("a stream reset partway leaves the way through etcd3 only what is left of the call's deadline", async () => {
    const proxy = await startFaultProxy(t.s.etcd.clientPort);
    const c = client(proxy.endpoint);
    try {
      expect((await c.rpc.leaseTimeToLive("123456789", false, 3_000)).ttlSec).toBe(-1);
      expect(c.rpc.streams!.served).toBe(1);
      // Nothing answers; 1 s in, every connection is reset (new ones connect, and hang).
      proxy.blackhole();
      const t0 = performance.now();
      const call = c.rpc.leaseTimeToLive("123456789", false, 2_000).then(
        () => "answered",
        (err: Error) => err,
      );
      await new Promise((r) => setTimeout(r, 1_000));
      proxy.reset();
      const outcome = await call;
      const took = performance.now() - t0;
      expect(outcome).toBeInstanceOf(Error);
      // One deadline in all (2 s), not 1 s + a second 2 s through etcd3.
      expect(took).toBeGreaterThan(1_800);
      expect(took).toBeLessThan(2_600);
    } finally {
      proxy.restore();
      c.close();
      await proxy.close();
    }
  });
});

describe("etcd lean calls: auth", () => {
  it("reads on after the auth token expires (etcd3 signs in again), and refuses a wrong password", async () => {
    const etcd = await startEtcd({ args: ["--auth-token-ttl", "1"] });
    const good = client(etcd.endpoint, { username: "root", password: "s3cret-root" });
    const bad = client(etcd.endpoint, { username: "root", password: "wrong" });
    try {
      await etcdctl(etcd.endpoint, ["user", "add", "root", "--new-user-password=s3cret-root"]);
      await etcdctl(etcd.endpoint, ["auth", "enable"]);
      await etcdctl(etcd.endpoint, ["--user=root:s3cret-root", "put", "w/x", "v"]);
      const read = () => good.rpc.range({ key: Buffer.from("w/x") }, 3_000);
      expect((await read()).entries.map((e) => e.key)).toEqual(["w/x"]);
      // The token lapses once unused for its TTL: probe it (a bare call, no fallback) less often than that.
      const bare = () =>
        (good.rpc as unknown as { call: (...a: unknown[]) => Promise<unknown> }).call(
          "KV",
          "/etcdserverpb.KV/Range",
          encodeRangeRequest({ key: Buffer.from("w/x") }),
          (b: Buffer) => b,
          3_000,
        );
      const lapsed = (what: string) =>
        waitFor(
          async () =>
            bare().then(
              () => false,
              (err) => err instanceof EtcdInvalidAuthTokenError,
            ),
          { timeoutMs: 15_000, intervalMs: 2_500, what },
        );
      await lapsed("the auth token to expire");
      expect((await read()).entries.map((e) => e.key)).toEqual(["w/x"]);
      await expect(bad.rpc.range({ key: Buffer.from("w/x") }, 3_000)).rejects.toThrow(/auth|password/i);
      // Lease calls as plain streams carry the signed-in token, and still answer after it lapsed
      // (etcd 3.4 does not check it for LeaseTimeToLive without keys; if it did, the call would go
      // through etcd3, which signs in again).
      const ttl = () => good.rpc.leaseTimeToLive("123456789", false, 3_000);
      const served = good.rpc.streams!.served;
      expect((await ttl()).ttlSec).toBe(-1);
      expect(good.rpc.streams!.served).toBe(served + 1);
      await lapsed("the auth token to expire again");
      expect((await ttl()).ttlSec).toBe(-1);
      expect((await read()).entries.map((e) => e.key)).toEqual(["w/x"]);
      expect((await ttl()).ttlSec).toBe(-1);
      await expect(bad.rpc.leaseTimeToLive("123456789", false, 3_000)).rejects.toThrow(/auth|password/i);
      expect(bad.rpc.streams!.served).toBe(0);
    } finally {
      good.close();
      bad.close();
      await etcd.stop();
    }
  });
});
