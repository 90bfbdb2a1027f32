// The snapshot's own connection to one Redis node: SCAN and the page reads of read.ts written
// through wire.ts, not ioredis (whose per-command work was ~90% of a plain read's client CPU).
// It is opened for one snapshot and closed after it, to the node the ioredis client is connected
// to at that moment (the current Sentinel master, each Cluster master), with that client's
// credentials, TLS settings and database; so it needs no reconnection, failover or slot logic.
//
// Contract: replies come back in order; a command left unanswered for `timeoutMs`, a reset,
// an abort or a protocol error fails every command in flight and the connection with it, so a
// snapshot read through it fails whole (stale beats partial) — never a missing key.

import "server-only";
import net from "node:net";
import tls from "node:tls";
import type Redis from "ioredis";
import type { ReadPipeline } from "./read";
import { RespError, RespParser, RespWriter, type RespReply } from "./wire";

export interface RawEndpoint {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
  username?: string;
  password?: string;
  db: number;
}

/** Where `node` (a ready ioredis client) is connected now, and how it logged in. */
export function endpointOf(node: Redis): RawEndpoint | null {
  const o = node.options;
  const stream = (node as unknown as { stream?: net.Socket }).stream;
  // A Sentinel client connects to the master the sentinels name: its socket says which.
  const sentinel = (o.sentinels?.length ?? 0) > 0;
  const host = sentinel ? stream?.remoteAddress : o.host;
  const port = sentinel ? stream?.remotePort : o.port;
  if (!host || !port) return null;
  return { host, port, tls: o.tls, username: o.username, password: o.password, db: o.db ?? 0 };
}

type Result = [Error | null, unknown];

export class RawConnection {
  private readonly waiting: Array<(r: RespReply) => void> = [];
  private failed: Error | null = null;
  private readonly failers = new Set<(err: Error) => void>();

  private constructor(
    private readonly sock: net.Socket,
    private readonly timeoutMs: number,
  ) {
    const parser = new RespParser((r) => this.waiting.shift()?.(r));
    sock.on("data", (d: Buffer) => {
      try {
        parser.push(d);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    sock.on("error", (err) => this.fail(err));
    sock.on("close", () => this.fail(new Error("Connection is closed.")));
  }

  /** Connects, logs in and selects the database; rejects with the server's own words on refusal. */
  static async open(e: RawEndpoint, timeoutMs: number, signal: AbortSignal): Promise<RawConnection> {
    signal.throwIfAborted();
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = e.tls ? tls.connect({ ...e.tls, host: e.host, port: e.port }) : net.connect({ host: e.host, port: e.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${e.host}:${e.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once(e.tls ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        s.removeListener("error", reject);
        s.setNoDelay(true);
        resolve(s);
      });
      s.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const conn = new RawConnection(sock, timeoutMs);
    const onAbort = () => conn.fail(new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    conn.failers.add(() => signal.removeEventListener("abort", onAbort));
    try {
      const w = new RespWriter();
      // ioredis leaves these null when the URL has none.
      if (e.password) w.command(e.username ? ["AUTH", e.username, e.password] : ["AUTH", e.password]);
      if (e.db) w.command(["SELECT", e.db]);
      const login = w.count;
      w.command(["CLIENT", "SETNAME", "lockdeck-snapshot"]);
      // A refused login or database is fatal; a refused name (an ACL without client|setname) is not.
      const replies = await conn.send(w);
      for (const r of replies.slice(0, login)) if (r instanceof Error) throw r;
      return conn;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Sends the batch and resolves with its replies, in order; rejects when the connection fails. */
  send(w: RespWriter): Promise<RespReply[]> {
    const n = w.count;
    const payload = w.take();
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      const out: RespReply[] = [];
      const timer = setTimeout(() => this.fail(new Error(`Command timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      const failer = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      this.failers.add(failer);
      for (let i = 0; i < n; i++)
        this.waiting.push((r) => {
          out.push(r);
          if (out.length < n) return;
          clearTimeout(timer);
          this.failers.delete(failer);
          resolve(out);
        });
      this.sock.write(payload);
    });
  }

  pipeline(): RawPipeline {
    return new RawPipeline(this);
  }

  /** SCAN as ioredis' scanBuffer answers it: [cursor, keys]. */
  async scanBuffer(cursor: string, count: "COUNT", n: number): Promise<[Buffer, Buffer[]]> {
    const [r] = await this.send(new RespWriter().command(["SCAN", cursor, count, n]));
    if (r instanceof Error) throw r;
    return r as [Buffer, Buffer[]];
  }

  close(): void {
    this.fail(new Error("Connection is closed."));
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.waiting.length = 0;
    this.sock.destroy();
    for (const f of this.failers) f(err);
    this.failers.clear();
  }
}

/**
 * The commands read.ts sends, as ioredis' pipeline takes them; `exec` answers like ioredis'
 * ([error, reply] per command, reply errors in place, a failed connection as a rejection).
 */
export class RawPipeline implements ReadPipeline {
  private readonly w = new RespWriter();
  constructor(private readonly conn: RawConnection) {}

  private add(args: Array<string | Buffer | number>): this {
    this.w.command(args);
    return this;
  }
  pttl(k: string | Buffer) {
    return this.add(["PTTL", k]);
  }
  getrangeBuffer(k: string | Buffer, start: number, end: number) {
    return this.add(["GETRANGE", k, start, end]);
  }
  mgetBuffer(...keys: Array<string | Buffer>) {
    return this.add(["MGET", ...keys]);
  }
  strlen(k: string | Buffer) {
    return this.add(["STRLEN", k]);
  }
  hscanBuffer(k: string | Buffer, cursor: number, count: "COUNT", n: number) {
    return this.add(["HSCAN", k, cursor, count, n]);
  }
  hlen(k: string | Buffer) {
    return this.add(["HLEN", k]);
  }
  type(k: string | Buffer) {
    return this.add(["TYPE", k]);
  }
  llen(k: string | Buffer) {
    return this.add(["LLEN", k]);
  }
  lrangeBuffer(k: string | Buffer, start: number, stop: number) {
    return this.add(["LRANGE", k, start, stop]);
  }
  zcard(k: string | Buffer) {
    return this.add(["ZCARD", k]);
  }
  zrangeBuffer(k: string | Buffer, start: string, stop: string, withScores: "WITHSCORES") {
    return this.add(["ZRANGE", k, start, stop, withScores]);
  }

  async exec(): Promise<Result[]> {
    if (this.w.count === 0) return [];
    const replies = await this.conn.send(this.w);
    return replies.map((r): Result => (r instanceof RespError ? [r, null] : [null, r]));
  }
}
