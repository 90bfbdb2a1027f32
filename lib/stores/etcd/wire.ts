// The protobuf bytes of the two calls a snapshot makes by the thousand, Range and
// LeaseTimeToLive, read and written here instead of through etcd3's generic decoder. Pure.
//
// Why: etcd3 (proto-loader) turns every RangeResponse into message objects, then plain objects,
// with each int64 made a string through Long (four per key) and a Buffer per key and value; the
// adapter then copied that into EtcdEntry. At 100k keys that was a third of a snapshot's CPU
// and most of its garbage. Here one pass over the reply's bytes makes the EtcdEntry objects
// the decoder reads, and nothing else per key. Field numbers: etcd's rpc.proto and kv.proto
// (etcdserverpb.RangeRequest/RangeResponse/ResponseHeader/LeaseTimeToLive*, mvccpb.KeyValue).
// wire.test.ts checks every field against etcd3's own decode of the same replies.

import type { EtcdEntry } from "../../formats/etcd";
import { keyFromBytes } from "../../keys";

export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  limit?: number;
  /** decimal; absent = the latest revision */
  revision?: string;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeReply {
  /** header.revision, decimal */
  revision: string;
  /** header.member_id in hex (how etcdctl prints member ids) */
  memberId: string;
  entries: EtcdEntry[];
  /** The last key's bytes (where the next page starts), null when there are no keys. */
  lastKey: Buffer | null;
  more: boolean;
  count: number;
  /** The reply's size in bytes. */
  bytes: number;
}

export interface LeaseTtlReply {
  /** remaining seconds; -1 = expired or unknown to etcd */
  ttlSec: number;
  grantedSec: number;
  /** attached keys (lib/keys.ts form), when asked for */
  keys: string[];
}

// ---- writing ------------------------------------------------------------------------------

class Writer {
  private readonly bytes: number[] = [];
  private readonly parts: Buffer[] = [];

  varint(field: number, v: bigint | number): void {
    if (typeof v === "number" ? v === 0 : v === 0n) return; // proto3: defaults are not sent
    this.tag(field, 0);
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
  }

  bool(field: number, v: boolean | undefined): void {
    if (v) this.varint(field, 1);
  }

  buffer(field: number, b: Buffer | undefined): void {
    if (!b || b.length === 0) return;
    this.tag(field, 2);
    let n = b.length;
    while (n >= 0x80) {
      this.bytes.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    this.bytes.push(n);
    this.flush();
    this.parts.push(b);
  }

  done(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }

  private tag(field: number, wireType: number): void {
    this.bytes.push((field << 3) | wireType); // every field number here is < 16: one byte
  }

  private flush(): void {
    if (this.bytes.length) this.parts.push(Buffer.from(this.bytes));
    this.bytes.length = 0;
  }
}

export function encodeRangeRequest(r: RangeRequest): Buffer {
  const w = new Writer();
  w.buffer(1, r.key);
  w.buffer(2, r.rangeEnd);
  if (r.limit) w.varint(3, r.limit);
  if (r.revision && r.revision !== "0") w.varint(4, BigInt(r.revision));
  w.bool(7, r.serializable);
  w.bool(8, r.keysOnly);
  w.bool(9, r.countOnly);
  return w.done();
}

export function encodeLeaseTimeToLiveRequest(id: string, keys: boolean): Buffer {
  const w = new Writer();
  w.varint(1, BigInt(id));
  w.bool(2, keys);
  return w.done();
}

// ---- reading ------------------------------------------------------------------------------

const EMPTY = Buffer.alloc(0);

/** A reader over one message's bytes; `end` bounds a nested message. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    pos = 0,
    public end = buf.length,
  ) {
    this.pos = pos;
  }

  /** The low 49 bits of the varint `head()` last read. */
  private low = 0;

  /** Reads up to 7 bytes of a varint into `low`; true when the varint ended there (< 2^49: exact as a double). */
  private head(): boolean {
    const buf = this.buf;
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      const b = buf[this.pos++];
      if (b === undefined) throw new Error("truncated protobuf message");
      n += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.low = n;
        return true;
      }
      mul *= 128;
    }
    this.low = n;
    return false;
  }

  /** A varint that fits a double exactly (tags, lengths, bools, revisions, counts, TTLs ≥ 0). */
  uint(): number {
    if (this.head()) return this.low;
    this.pos -= 7;
    return Number(this.big());
  }

  /** Any varint as a signed 64-bit integer. */
  big(): bigint {
    const buf = this.buf;
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[this.pos++];
      if (b === undefined) throw new Error("truncated protobuf message");
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, v);
      shift += 7n;
    }
  }

  /**
   * An int64 as a decimal string. Seven bytes or fewer (< 2^49: every revision and version
   * in practice) are exact as a double; longer ones (lease ids are ~2^62) are looked up by
   * their bytes, since a snapshot meets the same few thousand leases on 100k keys.
   */
  int64Text(): string {
    const start = this.pos;
    if (this.head()) return String(this.low);
    const buf = this.buf;
    const n = this.low;
    // n = the low 49 bits exactly; the rest (at most 3 more bytes, 15 bits) keys the second level.
    let high = 0;
    let hmul = 1;
    for (;;) {
      const b = buf[this.pos++];
      if (b === undefined) throw new Error("truncated protobuf message");
      high += (b & 0x7f) * hmul;
      if (b < 0x80) break;
      hmul *= 128;
      if (this.pos - start > 10) throw new Error("malformed varint");
    }
    let byLow = longInts.get(high);
    if (byLow === undefined) longInts.set(high, (byLow = new Map()));
    let text = byLow.get(n);
    if (text === undefined) {
      const end = this.pos;
      this.pos = start;
      text = this.big().toString();
      this.pos = end;
      if (byLow.size > 50_000) byLow.clear();
      byLow.set(n, text);
    }
    return text;
  }

  /** Skips one field's value of this wire type. */
  skip(wireType: number): void {
    if (wireType === 0) this.uint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) {
      const len = this.uint(); // first: `pos += uint()` would add to the pos before the length
      this.pos += len;
    } else if (wireType === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wireType}`);
    if (this.pos > this.end) throw new Error("truncated protobuf message");
  }

  /** A length-delimited field: its [start, end) in buf. */
  span(): number {
    const len = this.uint();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new Error("truncated protobuf message");
    return start;
  }
}

/** int64 texts of long varints: low 49 bits within the value of the bytes after them. */
const longInts = new Map<number, Map<number, string>>();

/** lib/keys.ts form of key bytes [start, end); ASCII keys (nearly all) without a Buffer. */
function keyText(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return keyFromBytes(buf.subarray(start, end));
  const text = buf.toString("latin1", start, end);
  return text.startsWith("base64:") ? keyFromBytes(buf.subarray(start, end)) : text;
}

interface Header {
  revision: string;
  memberId: string;
}

function readHeader(r: Reader, end: number): Header {
  const h: Header = { revision: "0", memberId: "0" };
  while (r.pos < end) {
    const tag = r.uint();
    const field = tag >>> 3;
    if (field === 2 && (tag & 7) === 0) h.memberId = BigInt.asUintN(64, r.big()).toString(16);
    else if (field === 3 && (tag & 7) === 0) h.revision = r.int64Text();
    else r.skip(tag & 7);
  }
  return h;
}

function readKeyValue(r: Reader, end: number): EtcdEntry {
  const buf = r.buf;
  let key = "";
  let value = EMPTY;
  let createRevision = "0";
  let modRevision = "0";
  let version = "0";
  let lease = "0";
  while (r.pos < end) {
    const tag = r.uint();
    switch (tag) {
      case (1 << 3) | 2: {
        const s = r.span();
        key = keyText(buf, s, r.pos);
        break;
      }
      case (2 << 3) | 0:
        createRevision = r.int64Text();
        break;
      case (3 << 3) | 0:
        modRevision = r.int64Text();
        break;
      case (4 << 3) | 0:
        version = r.int64Text();
        break;
      case (5 << 3) | 2: {
        const s = r.span();
        // A copy: a record may keep its value, and must not keep the whole reply alive.
        if (r.pos > s) value = Buffer.from(buf.subarray(s, r.pos));
        break;
      }
      case (6 << 3) | 0:
        lease = r.int64Text();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  // Every field in one literal, in one order: one hidden class for 100k entries.
  return { key, value, createRevision, modRevision, version, lease };
}

export function decodeRangeResponse(buf: Buffer): RangeReply {
  const r = new Reader(buf);
  const out: RangeReply = { revision: "0", memberId: "0", entries: [], lastKey: null, more: false, count: 0, bytes: buf.length };
  let lastKv = -1;
  let lastKvEnd = 0;
  while (r.pos < r.end) {
    const tag = r.uint();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const s = r.span();
      const end = r.pos;
      r.pos = s;
      Object.assign(out, readHeader(r, end));
      r.pos = end;
    } else if (field === 2 && (tag & 7) === 2) {
      const s = r.span();
      const end = r.pos;
      r.pos = s;
      out.entries.push(readKeyValue(r, end));
      r.pos = end;
      lastKv = s;
      lastKvEnd = end;
    } else if (field === 3 && (tag & 7) === 0) out.more = r.uint() !== 0;
    else if (field === 4 && (tag & 7) === 0) out.count = r.uint();
    else r.skip(tag & 7);
  }
  if (lastKv >= 0) out.lastKey = lastKeyBytes(buf, lastKv, lastKvEnd);
  return out;
}

/** The raw key bytes of the KeyValue in [start, end). */
function lastKeyBytes(buf: Buffer, start: number, end: number): Buffer {
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === ((1 << 3) | 2)) {
      const s = r.span();
      return Buffer.from(buf.subarray(s, r.pos));
    }
    r.skip(tag & 7);
  }
  return EMPTY;
}

export function decodeLeaseTimeToLiveResponse(buf: Buffer): LeaseTtlReply {
  const r = new Reader(buf);
  const out: LeaseTtlReply = { ttlSec: 0, grantedSec: 0, keys: [] };
  while (r.pos < r.end) {
    const tag = r.uint();
    const field = tag >>> 3;
    if (field === 3 && (tag & 7) === 0) out.ttlSec = Number(r.big());
    else if (field === 4 && (tag & 7) === 0) out.grantedSec = Number(r.big());
    else if (field === 5 && (tag & 7) === 2) {
      const s = r.span();
      out.keys.push(keyText(buf, s, r.pos));
    } else r.skip(tag & 7);
  }
  return out;
}
