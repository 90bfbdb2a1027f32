// The etcd3 client for one connection. Every unary call has a deadline, and the library's own
// retries and circuit breakers are off: the hub decides when to read again, and a release must
// never be sent twice behind our back (reliability.md §2.0 step 5).

import "server-only";
import { readFileSync } from "node:fs";
import { Etcd3, type IOptions } from "etcd3";
import type { EtcdConnectionConfig } from "./config";
import { EtcdRpc } from "./rpc";
import { UnaryStreams } from "./streams";

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

/** Runs the call once, as is. etcd3 only calls execute() on its policies (and ignores the context). */
const ONCE_CONTEXT = { signal: new AbortController().signal, attempt: 0 };
const ONCE = {
  execute: (fn: (ctx: typeof ONCE_CONTEXT) => unknown) => Promise.resolve().then(() => fn(ONCE_CONTEXT)),
} as unknown as Policy;

/** etcd3's client plus the lean Range and LeaseTimeToLive calls on its connections (rpc.ts). */
export class EtcdClient extends Etcd3 {
  readonly rpc = new EtcdRpc(this.pool, this);

  override close(): void {
    this.rpc.streams?.close();
    super.close();
  }
}

export function createClient(cfg: EtcdConnectionConfig): EtcdClient {
  const tls = cfg.tls;
  const grpcOptions: Record<string, string | number> = {
    "grpc.max_receive_message_length": cfg.maxReplyBytes,
    // Notice a dead peer in seconds, not at the OS's TCP timeout.
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 2_000,
  };
  if (tls?.servername) grpcOptions["grpc.ssl_target_name_override"] = tls.servername;
  // Read once: etcd3's channel and the lease streams (streams.ts) present the same files.
  const files =
    tls?.ca || tls?.cert
      ? { ca: tls.ca ? readFileSync(tls.ca) : undefined, cert: tls.cert ? readFileSync(tls.cert) : undefined, key: tls.key ? readFileSync(tls.key) : undefined }
      : null;
  const client = new EtcdClient({
    hosts: cfg.endpoints,
    auth: cfg.username ? { username: cfg.username, password: cfg.password ?? "" } : undefined,
    credentials: files ? { rootCertificate: files.ca as Buffer, privateKey: files.key, certChain: files.cert } : undefined,
    grpcOptions,
    dialTimeout: Math.min(cfg.requestTimeoutMs, 5_000),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + cfg.requestTimeoutMs }),
    faultHandling: { host: () => ONCE, global: ONCE },
  });
  client.rpc.streams = new UnaryStreams(files && { ...files, servername: tls?.servername });
  return client;
}

/** Deadline for one call that should be quicker than the connection's default. */
export function within(ms: number) {
  return { deadline: Date.now() + ms };
}

/** True when an etcd3/gRPC error says the request never reached a server (so it cannot have run). */
export function neverSent(err: unknown): boolean {
  const msg = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /No connection established|failed to connect|ECONNREFUSED|Connection refused|client was already closed/i.test(msg);
}

export function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // etcd3 appends "Please report this error at ..." to its own runtime errors; keep the cause.
  return msg.replace(/\s*Please report this error at \S+/, "");
}
