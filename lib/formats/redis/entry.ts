// What the Redis adapter reads for one key, and what Redis decoders consume.
// Byte strings stay Buffers: keys, values, fields and members may be binary.

import { bytesFromJson, bytesToJson, type JsonBytes } from "../json-bytes";
export { bytesFromJson, bytesToJson, type JsonBytes };

export interface RedisEntry {
  /** lib/keys.ts form of the key bytes */
  key: string;
  /** TYPE as Redis reports it: string, hash, list, zset, set, stream, none */
  type: string;
  /** PTTL as Redis reports it: -1 no expiry, -2 gone */
  pttl: number;
  /** Full size: STRLEN, HLEN, LLEN or ZCARD */
  size: number;
  /** True when less than the full value was read (size cap) */
  truncated: boolean;
  value?: Buffer;
  /** field name (lib/keys.ts form) and value */
  hash?: Array<[string, Buffer]>;
  list?: Buffer[];
  zset?: Array<[Buffer, number]>;
}

export interface RedisFixtureEntry {
  key: string;
  type: string;
  pttl: number;
  size: number;
  truncated: boolean;
  value?: JsonBytes;
  hash?: Array<[string, JsonBytes]>;
  list?: JsonBytes[];
  zset?: Array<[JsonBytes, number]>;
}

export interface RedisFixture {
  /** library, version, what the capture program did, when, against which server */
  capture: { library: string; version: string; scenario: string; program: string; server: string; capturedAt: string };
  /** epoch ms at the moment of the dump, the decoder's "now" in tests */
  now: number;
  entries: RedisFixtureEntry[];
}

export function entryFromFixture(e: RedisFixtureEntry): RedisEntry {
  return {
    key: e.key,
    type: e.type,
    pttl: e.pttl,
    size: e.size,
    truncated: e.truncated,
    value: e.value === undefined ? undefined : bytesFromJson(e.value),
    hash: e.hash?.map(([f, v]) => [f, bytesFromJson(v)]),
    list: e.list?.map(bytesFromJson),
    zset: e.zset?.map(([m, s]) => [bytesFromJson(m), s]),
  };
}

export function entryToFixture(e: RedisEntry): RedisFixtureEntry {
  return {
    key: e.key,
    type: e.type,
    pttl: e.pttl,
    size: e.size,
    truncated: e.truncated,
    value: e.value === undefined ? undefined : bytesToJson(e.value),
    hash: e.hash?.map(([f, v]) => [f, bytesToJson(v)]),
    list: e.list?.map(bytesToJson),
    zset: e.zset?.map(([m, s]) => [bytesToJson(m), s]),
  };
}
