// The protobuf codec of Range and LeaseTimeToLive (wire.ts) on hand-made bytes: field numbers,
// varints past 2^49 and negative ones, and a cut-off reply, which must fail rather than read
// as something else. (rpc.test.ts checks it against etcd3's decode of real etcd replies.)
import { describe, expect, it } from "vitest";
import { decodeLeaseTimeToLiveResponse, decodeRangeResponse, encodeLeaseTimeToLiveRequest, encodeRangeRequest } from "./wire";

function varint(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}
const field = (n: number, v: bigint) => [(n << 3) | 0, ...varint(v)];
const bytes = (n: number, b: number[]) => [(n << 3) | 2, ...varint(BigInt(b.length)), ...b];

describe("etcd wire codec", () => {
  it("writes a RangeRequest's fields by number, defaults left out", () => {
    const b = encodeRangeRequest({ key: Buffer.from("a"), rangeEnd: Buffer.from("b"), limit: 300, revision: "5", serializable: true, countOnly: true });
    expect([...b]).toEqual([0x0a, 1, 0x61, 0x12, 1, 0x62, 0x18, 0xac, 0x02, 0x20, 5, 0x38, 1, 0x48, 1]);
    expect([...encodeRangeRequest({ key: Buffer.from("a"), revision: "0", keysOnly: false })]).toEqual([0x0a, 1, 0x61]);
    expect([...encodeLeaseTimeToLiveRequest("7587872329837581825", true)]).toEqual([...field(1, 7587872329837581825n), 0x10, 1]);
  });

  it("reads int64s past 2^49 exactly (lease ids, the same one twice), -1 TTLs, and unknown fields", () => {
    const lease = 7587872329837581825n;
    const kv = [...bytes(1, [...Buffer.from("l/x")]), ...field(2, 2n ** 50n + 3n), ...field(3, 12n), ...field(4, 1n), ...field(6, lease), ...field(9, 77n)];
    const header = [...field(1, 1n), ...field(2, 2n ** 63n + 5n), ...field(3, 42n)];
    const reply = Buffer.from([...bytes(1, header), ...bytes(2, kv), ...bytes(2, kv), ...field(3, 1n), ...field(4, 9n)]);
    const r = decodeRangeResponse(reply);
    expect(r.entries).toEqual(
      [0, 1].map(() => ({ key: "l/x", value: Buffer.alloc(0), createRevision: String(2n ** 50n + 3n), modRevision: "12", version: "1", lease: String(lease) })),
    );
    expect([r.revision, r.memberId, r.more, r.count, r.bytes, r.lastKey?.toString()]).toEqual([
      "42",
      (2n ** 63n + 5n).toString(16),
      true,
      9,
      reply.length,
      "l/x",
    ]);
    const ttl = decodeLeaseTimeToLiveResponse(Buffer.from([...bytes(1, header), ...field(2, lease), ...field(3, -1n), ...field(4, 60n)]));
    expect(ttl).toEqual({ ttlSec: -1, grantedSec: 60, keys: [] });
  });

  it("fails on a cut-off reply instead of reading part of it", () => {
    const kv = [...bytes(1, [...Buffer.from("l/x")]), ...field(6, 7587872329837581825n)];
    const reply = Buffer.from(bytes(2, kv));
    for (let cut = 1; cut < reply.length; cut++) expect(() => decodeRangeResponse(reply.subarray(0, cut))).toThrow(/truncated/);
  });
});
