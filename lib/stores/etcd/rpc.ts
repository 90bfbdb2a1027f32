// Range and LeaseTimeToLive on etcd3's own connections (same channel, TLS, auth token, host
// choice: ConnectionPool.withConnection), but with the bytes read and written by wire.ts and
// none of etcd3's per-call wrapping (fault policies, call-option resolution, proto-loader's
// decode into objects). A snapshot makes these calls by the thousand; everything else goes
// through etcd3 as before.
//
// An expired auth token is the one thing etcd3's call path handles that withConnection does
// not: that call is made once more through etcd3 (which signs in again), and the calls after it
// pick up the new token.

import { EtcdInvalidAuthTokenError, type Etcd3, type ICallable } from "etcd3";
import { keyFromBytes } from "../../keys";
import { entryOf } from "./read";
import { StreamDeadlineError, type UnaryStreams } from "./streams";
import {
  decodeLeaseTimeToLiveResponse,
  decodeRangeResponse,
  encodeLeaseTimeToLiveRequest,
  encodeRangeRequest,
  type LeaseTtlReply,
  type RangeReply,
  type RangeRequest,
} from "./wire";

type Connection = Parameters<Parameters<ICallable<unknown>["withConnection"]>[1]>[0];

const RANGE = "/etcdserverpb.KV/Range";
const LEASE_TTL = "/etcdserverpb.Lease/LeaseTimeToLive";
const asIs = (b: Buffer) => b;

export class EtcdRpc {
  /** Plain HTTP/2 streams for LeaseTimeToLive (streams.ts); null: every call through grpc-js. */
  streams: UnaryStreams | null = null;

  constructor(
    private readonly pool: ICallable<unknown>,
    private readonly client: Etcd3,
  ) {}

  async range(req: RangeRequest, deadlineMs: number): Promise<RangeReply> {
    try {
      return await this.call("KV", RANGE, encodeRangeRequest(req), decodeRangeResponse, deadlineMs);
    } catch (err) {
      if (!(err instanceof EtcdInvalidAuthTokenError)) throw err;
    }
    const res = await this.client.kv.range(
      {
        key: req.key,
        range_end: req.rangeEnd,
        limit: req.limit,
        revision: req.revision,
        serializable: req.serializable,
        keys_only: req.keysOnly,
        count_only: req.countOnly,
      },
      { deadline: Date.now() + deadlineMs },
    );
    const last = res.kvs[res.kvs.length - 1];
    return {
      revision: String(res.header.revision),
      memberId: BigInt(res.header.member_id).toString(16),
      entries: res.kvs.map(entryOf),
      lastKey: last ? last.key : null,
      more: res.more,
      // etcd3's typings omit RangeResponse.count; the reply carries it.
      count: Number((res as { count?: string }).count ?? 0),
      // Not measured on this path: a page read this way does not make the next one grow.
      bytes: 0,
    };
  }

  async leaseTimeToLive(id: string, keys: boolean, deadlineMs: number): Promise<LeaseTtlReply> {
    const body = encodeLeaseTimeToLiveRequest(id, keys);
    // One deadline for the whole call: a stream that fails partway (a reset) leaves the way
    // through etcd3 only what is left of it, and the call never waits longer than asked.
    const until = Date.now() + deadlineMs;
    const left = () => {
      const ms = until - Date.now();
      if (ms <= 0) throw new StreamDeadlineError(`${LEASE_TTL}: no answer within ${deadlineMs} ms`);
      return ms;
    };
    // Without keys (a snapshot's and the lease check's calls) as a plain stream first; its reply
    // is used only when etcd answered OK, else the call goes the usual way (streams.ts).
    if (!keys && this.streams) {
      const reply = await this.pool.withConnection("Lease", ({ resource, metadata }: Connection) =>
        this.streams!.call((resource as { host: string }).host, LEASE_TTL, body, headersOf(metadata), deadlineMs),
      );
      const decoded = reply && decodeLeaseTimeToLiveResponse(reply);
      if (decoded) {
        this.streams.served++;
        return decoded;
      }
    }
    try {
      return await this.call("Lease", LEASE_TTL, body, decodeLeaseTimeToLiveResponse, left());
    } catch (err) {
      if (!(err instanceof EtcdInvalidAuthTokenError)) throw err;
    }
    const r = await this.client.leaseClient.leaseTimeToLive({ ID: id, keys }, { deadline: Date.now() + left() });
    return { ttlSec: Number(r.TTL), grantedSec: Number(r.grantedTTL), keys: (r.keys ?? []).map((k) => keyFromBytes(k)) };
  }

  /** One unary call; errors come out as etcd3's typed errors (withConnection casts them). */
  private call<T>(service: "KV" | "Lease", method: string, body: Buffer, decode: (b: Buffer) => T, deadlineMs: number): Promise<T> {
    return this.pool.withConnection(
      service,
      ({ client, metadata }: Connection) =>
        new Promise<T>((resolve, reject) => {
          client.makeUnaryRequest(method, asIs, decode, body, metadata, { deadline: Date.now() + deadlineMs }, (err, res) => {
            if (err) reject(err);
            else resolve(res as T);
          });
        }),
    );
  }
}

/** etcd3's call metadata (the auth token, when signed in) as request headers. */
function headersOf(metadata: Connection["metadata"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) if (typeof v === "string") out[k] = v;
  return out;
}
