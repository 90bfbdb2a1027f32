// The only code that talks to Consul: its HTTP API over node:http(s) (no client library:
// a dozen endpoints, and we need what clients hide — raw Flags digits, X-Consul-* headers,
// a byte cap on big answers, and whether a failed write was ever sent).
//
// Contracts:
// - every request carries the ACL token (X-Consul-Token) and dc= when configured;
// - answers are read up to maxBytes, then the socket is dropped (ConsulError "too-large");
// - ConsulError.sent = false only when the request provably never reached the agent
//   (connection refused, no route, DNS). An answer, even an error, was sent (sent = true): what
//   that means for a release is the adapter's call — only a MUTATING request (txn, session
//   destroy) without a clear answer makes its outcome "unknown"; a failed read before it is
//   "refused, nothing was sent".

import "server-only";
import http from "node:http";
import https from "node:https";
import { readFileSync } from "node:fs";
import type { ConsulConnectionConfig } from "./config";

export interface ReadMeta {
  /** X-Consul-Index: the raft index to block on next. */
  index: number | null;
  knownLeader: boolean | null;
  lastContactMs: number | null;
  /** X-Consul-Effective-Consistency: leader | consistent | stale */
  effective: string | null;
  /** X-Consul-Results-Filtered-By-ACLs: the token could not see some entries. */
  filtered: boolean;
}

export interface ConsulAnswer {
  status: number;
  body: Buffer;
  meta: ReadMeta;
}

export type ConsulErrorCode = "unreachable" | "forbidden" | "no-leader" | "http" | "too-large" | "timeout" | "aborted" | "bad-path";

export class ConsulError extends Error {
  override readonly name = "ConsulError";
  constructor(
    readonly code: ConsulErrorCode,
    message: string,
    readonly sent: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A reused keep-alive socket the other side had already closed. */
const STALE_SOCKET = new Set(["ECONNRESET", "EPIPE"]);
const NEVER_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: string | Buffer;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
  /** Apply the connection's read consistency (default | consistent | stale). */
  read?: boolean;
  /** Takes a 200 answer's body as it streams in (see the contracts above); may throw to stop the read. */
  sink?: (chunk: Buffer) => void;
}

export class ConsulHttp {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly token: string | undefined;

  constructor(private readonly cfg: ConsulConnectionConfig) {
    this.base = new URL(cfg.url);
    this.token = cfg.token ?? (cfg.tokenFile ? readFileSync(cfg.tokenFile, "utf8").trim() : undefined);
    if (this.base.protocol === "https:") {
      const t = cfg.tls;
      this.agent = new https.Agent({
        keepAlive: true,
        ca: t?.ca ? readFileSync(t.ca) : undefined,
        cert: t?.cert ? readFileSync(t.cert) : undefined,
        key: t?.key ? readFileSync(t.key) : undefined,
        servername: t?.servername,
        rejectUnauthorized: t?.rejectUnauthorized ?? true,
      });
    } else {
      this.agent = new http.Agent({ keepAlive: true });
    }
  }

  get url(): string {
    return this.base.origin;
  }

  /** Query parameters of a read at the connection's consistency. */
  consistencyParam(): Record<string, boolean> {
    return this.cfg.consistency === "default" ? {} : { [this.cfg.consistency]: true };
  }

  request(method: "GET" | "PUT" | "DELETE", path: string, o: RequestOptions = {}): Promise<ConsulAnswer> {
    const url = new URL(path, this.base);
    // The agent gets exactly the path we built: URL resolution ("..", "%2E%2E") must not move it,
    // nor Consul's mux, which answers a path with an empty segment ("//") with a 307 elsewhere.
    if (url.pathname !== path || path.includes("//"))
      return Promise.reject(
        new ConsulError(
          "bad-path",
          `refused to send ${method} ${JSON.stringify(path.slice(0, 200))}: the URL resolves elsewhere (${url.pathname !== path ? url.pathname.slice(0, 200) : "Consul redirects an empty segment"})`,
          false,
        ),
      );
    const query = { ...(o.read ? this.consistencyParam() : {}), ...o.query };
    if (this.cfg.datacenter) query.dc = this.cfg.datacenter;
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === false) continue;
      // Flag parameters (?recurse, ?stale) are sent bare, as Consul's docs write them.
      url.search += (url.search ? "&" : "") + (v === true ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.token) headers["x-consul-token"] = this.token;
    if (o.body !== undefined) headers["content-type"] = "application/json";
    const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    const timeoutMs = o.timeoutMs ?? this.cfg.requestTimeoutMs;
    return this.send(method, url, headers, o, maxBytes, timeoutMs, true);
  }

  /**
   * One HTTP exchange. A GET whose pooled keep-alive socket turns out to be closed (the agent
   * restarted, or dropped the idle connection just as we reused it) is sent once more on a new
   * socket, as Go's net/http does for idempotent requests: that failure says nothing about the
   * agent. Writes are never re-sent (their outcome would be unknown).
   */
  private send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    o: RequestOptions,
    maxBytes: number,
    timeoutMs: number,
    mayRetry: boolean,
  ): Promise<ConsulAnswer> {
    const lib = url.protocol === "https:" ? https : http;
    return new Promise<ConsulAnswer>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        cleanup();
        req.destroy();
        reject(err);
      };
      const req = lib.request(url, { method, headers, agent: this.agent });
      const timer = setTimeout(() => fail(new ConsulError("timeout", `no answer from ${url.origin} within ${timeoutMs} ms`, true)), timeoutMs);
      const onAbort = () => fail(new ConsulError("aborted", "aborted", true));
      const cleanup = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
      };
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (mayRetry && method === "GET" && req.reusedSocket && STALE_SOCKET.has(err.code ?? "") && !settled && !answered) {
          settled = true;
          cleanup();
          resolve(this.send(method, url, headers, o, maxBytes, timeoutMs, false));
          return;
        }
        const never = NEVER_SENT.has(err.code ?? "");
        const what = err.code && !err.message.includes(err.code) ? `${err.code} (${err.message})` : err.message || err.code;
        fail(new ConsulError(never ? "unreachable" : "http", `${url.origin}: ${what}`, !never));
      });
      req.on("response", (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        const sink = res.statusCode === 200 ? o.sink : undefined;
        let size = 0;
        res.on("data", (c: Buffer) => {
          if (settled) return;
          size += c.length;
          if (size > maxBytes) {
            fail(new ConsulError("too-large", `answer larger than ${maxBytes} bytes`, true));
            return;
          }
          if (!sink) chunks.push(c);
          else {
            try {
              sink(c);
            } catch (err) {
              fail(err as Error);
            }
          }
        });
        res.on("error", (err) => fail(new ConsulError("http", `${url.origin}: ${err.message}`, true)));
        // Closed before its last byte (however the socket ended): never a short answer.
        res.on("close", () => {
          if (!res.complete) fail(new ConsulError("http", `${url.origin}: the answer was cut after ${size} bytes`, true));
        });
        res.on("end", () => {
          if (settled) return;
          settled = true;
          cleanup();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), meta: readMeta(res.headers) });
        });
      });
      req.end(o.body);
    });
  }

  /** A request whose non-2xx answers become ConsulErrors (404 passes: "no such key" is an answer). */
  async call(method: "GET" | "PUT" | "DELETE", path: string, o: RequestOptions = {}): Promise<ConsulAnswer> {
    const a = await this.request(method, path, o);
    if (a.status === 200 || a.status === 404) return a;
    throw errorFromAnswer(a);
  }

  close(): void {
    this.agent.destroy();
  }
}

export function errorFromAnswer(a: ConsulAnswer): ConsulError {
  const text = a.body.toString("utf8").trim().slice(0, 300);
  if (a.status === 403) return new ConsulError("forbidden", `not permitted by Consul's ACLs (403): ${text || "Permission denied"}`, true, 403);
  if (/no cluster leader|no leader/i.test(text)) return new ConsulError("no-leader", `Consul has no cluster leader (${a.status}): ${text}`, true, a.status);
  return new ConsulError("http", `Consul answered ${a.status}: ${text}`, true, a.status);
}

function readMeta(h: http.IncomingHttpHeaders): ReadMeta {
  const one = (name: string) => {
    const v = h[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const index = one("x-consul-index");
  const leader = one("x-consul-knownleader");
  const contact = one("x-consul-lastcontact");
  return {
    index: index !== undefined && /^\d+$/.test(index) ? Number(index) : null,
    knownLeader: leader === undefined ? null : leader === "true",
    lastContactMs: contact !== undefined && /^\d+$/.test(contact) ? Number(contact) : null,
    effective: one("x-consul-effective-consistency") ?? null,
    filtered: one("x-consul-results-filtered-by-acls") === "true",
  };
}

/**
 * Percent-encodes each segment of a KV key (slashes stay slashes). A "." or ".." segment has
 * no exact URL form: URL resolution walks it, encoded or not ("%2E%2E" too); nor has an empty
 * one ("a//b": Consul redirects it). Such keys are refused by scope.ts, and request() refuses
 * any path that resolves elsewhere.
 */
export function kvPath(key: string): string {
  return "/v1/kv/" + key.split("/").map(encodeURIComponent).join("/");
}
