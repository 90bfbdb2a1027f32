// Unary gRPC calls as plain HTTP/2 streams, beside etcd3's channel, for the one call a snapshot
// makes by the thousand: LeaseTimeToLive, once per holder lease (1 000 at 90k locks). Through
// grpc-js each unary call costs ~320 µs of node CPU; as a plain stream less than half
// (docs/benchmarks.md, "Consul and etcd, fourth round").
//
// Contract: call() resolves to the reply message's bytes only when etcd answered the call with
// gRPC status 0 and one uncompressed message; it resolves null for anything else (no session, a
// reset, another status, a reply of another shape), and the caller then makes the same call
// through etcd3, which gives errors their usual types (an expired auth token included). It
// rejects only when the deadline passes. After a failure of the connection itself the member's
// session rests for REST_MS: a member that cannot be reached costs one attempt, not one per call.
// Which member, and the auth token, come from etcd3 (rpc.ts asks its pool for both).

import http2 from "node:http2";

const REST_MS = 10_000;
/** A LeaseTimeToLive reply without keys is a few dozen bytes. */
const MAX_REPLY_BYTES = 64 * 1024;

export class StreamDeadlineError extends Error {
  override readonly name = "StreamDeadlineError";
}

export class UnaryStreams {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private readonly resting = new Map<string, number>();
  private closed = false;
  /** Calls answered here (tests: the streams were used, not only the fallback). */
  served = 0;

  /** `tls`: the files createClient read for etcd3's channel (null: plain HTTP/2, as the channel). */
  constructor(private readonly tls: http2.SecureClientSessionOptions | null) {}

  /** The reply message of `path` on member `host` ("host:port"), or null (see the contract above). */
  call(host: string, path: string, message: Buffer, headers: Record<string, string>, deadlineMs: number): Promise<Buffer | null> {
    const session = this.session(host);
    if (!session) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (v: Buffer | null, err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      };
      let req: http2.ClientHttp2Stream;
      try {
        req = session.request({
          ...headers,
          ":method": "POST",
          ":path": path,
          "content-type": "application/grpc",
          te: "trailers",
          "grpc-timeout": `${Math.max(1, Math.ceil(deadlineMs))}m`,
        });
      } catch {
        this.rest(host, session);
        return done(null);
      }
      const timer = setTimeout(() => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        done(null, new StreamDeadlineError(`${path}: no answer within ${deadlineMs} ms`));
      }, deadlineMs);
      const chunks: Buffer[] = [];
      let size = 0;
      let status: string | undefined;
      req.on("response", (h) => {
        // A status in the headers alone ("trailers-only") is an error answer.
        if (h[":status"] !== 200 || h["grpc-status"] !== undefined) status ??= String(h["grpc-status"] ?? "http");
      });
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_REPLY_BYTES) {
          req.close(http2.constants.NGHTTP2_CANCEL);
          return done(null);
        }
        chunks.push(c);
      });
      req.on("trailers", (t) => {
        status ??= String(t["grpc-status"]);
      });
      req.on("end", () => done(status === "0" ? unframe(Buffer.concat(chunks, size)) : null));
      req.on("error", () => done(null));
      req.on("close", () => done(null));
      req.end(frame(message));
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  private session(host: string): http2.ClientHttp2Session | null {
    if (this.closed || (this.resting.get(host) ?? 0) > Date.now()) return null;
    const open = this.sessions.get(host);
    if (open && !open.closed && !open.destroyed) return open;
    const s = this.tls ? http2.connect(`https://${host}`, this.tls) : http2.connect(`http://${host}`);
    // A session waiting for calls must not keep the process alive.
    s.unref();
    s.on("error", () => this.rest(host, s));
    s.on("goaway", () => this.drop(host, s));
    s.on("close", () => this.drop(host, s));
    this.sessions.set(host, s);
    return s;
  }

  private rest(host: string, s: http2.ClientHttp2Session): void {
    this.resting.set(host, Date.now() + REST_MS);
    this.drop(host, s);
    s.destroy();
  }

  private drop(host: string, s: http2.ClientHttp2Session): void {
    if (this.sessions.get(host) === s) this.sessions.delete(host);
  }
}

/** One gRPC message: not compressed, 4-byte length, the bytes. */
function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** The one message of a reply, or null when the reply is not exactly one uncompressed message. */
function unframe(body: Buffer): Buffer | null {
  if (body.length < 5 || body[0] !== 0) return null;
  const len = body.readUInt32BE(1);
  return body.length === 5 + len ? body.subarray(5) : null;
}
