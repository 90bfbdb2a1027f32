// What the etcd adapter reads, and what etcd decoders consume: one KeyValue from a range, and
// what LeaseTimeToLive said about a lease. Integers are decimal strings (etcd's int64s do not
// fit a JS number exactly); keys use the lib/keys.ts form, values stay bytes.

import { bytesFromJson, bytesToJson, type JsonBytes } from "../json-bytes";
export { bytesFromJson, bytesToJson, type JsonBytes };

export interface EtcdEntry {
  /** lib/keys.ts form of the key bytes */
  key: string;
  value: Buffer;
  createRevision: string;
  modRevision: string;
  version: string;
  /** decimal lease id; "0" = no lease */
  lease: string;
}

export interface LeaseInfo {
  /** decimal lease id */
  id: string;
  /** LeaseTimeToLive.TTL: remaining seconds as the store reports it; -1 = expired or unknown to etcd */
  ttlSec: number;
  /** LeaseTimeToLive.grantedTTL in seconds */
  grantedSec: number;
  /** Every key attached to the lease (lib/keys.ts form), when it was asked for (keys: true). */
  keys?: string[];
  /** How many more keys the lease carries outside the connection's prefixes, when `keys` holds only the ones under them (never named). */
  keysElsewhere?: number;
  /** The adapter saw this lease's TTL only fall, past the point where a keep-alive was due. */
  notRenewed?: boolean;
}

const hexCache = new Map<string, string>();

/** Lease ids as Go prints them with %x (the Mutex key suffix, etcdctl lease commands). */
export function leaseHex(decimal: string): string {
  let hex = hexCache.get(decimal);
  if (hex === undefined) {
    const n = BigInt(decimal);
    hex = n < 0n ? "-" + (-n).toString(16) : n.toString(16);
    // Many keys share a lease; a bounded memo keeps 100k-key decodes off BigInt.
    if (hexCache.size > 50_000) hexCache.clear();
    hexCache.set(decimal, hex);
  }
  return hex;
}

// ---- fixtures (lib/formats/testdata/etcd/*.json) ------------------------------------------

export interface EtcdFixtureEntry extends Omit<EtcdEntry, "value"> {
  value: JsonBytes;
}

export interface EtcdFixture {
  /** library, version, what was held, how, against which server, when */
  capture: { library: string; version: string; scenario: string; program: string; server: string; capturedAt: string };
  /** epoch ms at the dump, the decoder's "now" in tests */
  now: number;
  /** header revision the range was read at */
  revision: string;
  entries: EtcdFixtureEntry[];
  leases: LeaseInfo[];
  /** What the capture program reported on its side (keys it holds, revisions), for cross-checks. */
  notes?: Record<string, unknown>;
}

export function entryFromFixture(e: EtcdFixtureEntry): EtcdEntry {
  return { ...e, value: bytesFromJson(e.value) };
}

export function entryToFixture(e: EtcdEntry): EtcdFixtureEntry {
  return { ...e, value: bytesToJson(e.value) };
}
