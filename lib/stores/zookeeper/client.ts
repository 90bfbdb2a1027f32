// A promise-shaped ZooKeeper session over node-zookeeper-client (pure JavaScript: no native
// build, so it installs from the npm registry alone and bundles with Next like any module).
// What the library lacks we add here, and only here:
//   - sync(): the library has no SYNC opcode; syncRequest() below sends one on its socket
//     (see sync.ts for how, and why it is safe);
//   - deadlines: the library queues requests while disconnected and never times them out, so
//     every call here has one (a read that misses it fails; a write that misses it is "unknown"),
//     all served by one timer (deadlines.ts);
//   - getData and getChildren replies read by our own reader, not the library's generic record
//     code, which cost the walk most of its CPU (lean.ts);
//   - which server answered (host:port of the live socket);
//   - a half-received reply frame is dropped when its socket closes (dropPartialFrameOnClose);
//   - a deadline for the server's answer to a (re)connect (handshakeDeadline);
//   - watches are kept in a Map per type, not an EventEmitter per path (watchers.ts).
// Contract: one ZkSession = one ZooKeeper session. After "expired" it is dead: make a new one.

import "server-only";
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import zookeeper from "node-zookeeper-client";
import type { ZkStat } from "../../formats/zookeeper/entry";
import { syncRequest } from "./sync";
import { armWatches, disarmWatches, installLeanWatchers, type Arming } from "./watchers";
import {
  installFrameTap,
  leanGetChildren,
  leanGetData,
  leanGetDataAbsolute,
  leanMultiRead,
  type FrameTap,
  type MultiReadOp,
  type MultiReadResult,
} from "./lean";
import { Deadlines } from "./deadlines";

export type SessionState = "connecting" | "connected" | "disconnected" | "expired" | "auth-failed" | "closed";

export interface SessionOptions {
  connectString: string;
  sessionTimeoutMs: number;
  auth: Array<{ scheme: string; credentials: string }>;
}

export type Watcher = (event: { type: number; path: string }) => void;

/** node-zookeeper-client error codes LockDeck acts on (org.apache.zookeeper.KeeperException.Code). */
export const ZK = {
  CONNECTION_LOSS: -4,
  /** The server does not know the request's opcode (multiRead before ZooKeeper 3.6). */
  UNIMPLEMENTED: -6,
  OPERATION_TIMEOUT: -7,
  NO_NODE: -101,
  NO_AUTH: -102,
  BAD_VERSION: -103,
  NODE_EXISTS: -110,
  NOT_EMPTY: -111,
  SESSION_EXPIRED: -112,
} as const;

export class ZkError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** false when the request is known not to have left this process */
    readonly sent = true,
  ) {
    super(message);
    this.name = "ZkError";
  }
}

export class DeadlineError extends Error {
  override readonly name = "DeadlineError";
}

type Callback<T> = (err: Error | zookeeper.Exception | null, result?: T, extra?: unknown) => void;

export class ZkSession {
  readonly client: zookeeper.Client;
  private readonly tap: FrameTap;
  private readonly deadlines: Deadlines;
  state: SessionState = "connecting";
  /** A server refused multiRead on this session: the walk reads one node per request from then on. */
  multiReadRefused = false;
  private listeners = new Set<(s: SessionState) => void>();

  constructor(
    readonly opts: SessionOptions,
    private readonly timeoutMs: number,
  ) {
    this.client = zookeeper.createClient(opts.connectString, {
      sessionTimeout: opts.sessionTimeoutMs,
      spinDelay: 500,
      retries: 0,
    } as zookeeper.Option);
    dropPartialFrameOnClose(this.client);
    this.tap = installFrameTap(this.client);
    this.deadlines = new Deadlines(timeoutMs);
    handshakeDeadline(this.client, timeoutMs);
    installLeanWatchers(this.client);
    for (const a of opts.auth) this.client.addAuthInfo(a.scheme, Buffer.from(a.credentials));
    this.client.on("state", (s: zookeeper.State) => {
      const next = stateName(s);
      if (!next || next === this.state) return;
      this.state = next;
      for (const l of this.listeners) l(next);
    });
    this.client.connect();
  }

  onState(l: (s: SessionState) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Resolves once connected; rejects on expiry, auth failure or the deadline. */
  async connected(signal?: AbortSignal): Promise<void> {
    if (this.state === "connected") return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new DeadlineError(`not connected to ${this.opts.connectString} after ${this.timeoutMs} ms (${this.state})`)),
        this.timeoutMs,
      );
      const onAbort = () => done(signal?.reason ?? new Error("aborted"));
      const off = this.onState((s) => {
        if (s === "connected") done(null);
        else if (s === "expired" || s === "auth-failed" || s === "closed") done(new Error(`session ${s}`));
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = (err: Error | null) => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve();
      };
      if (this.state === "connected") done(null);
    });
  }

  get sessionId(): string {
    return (
      "0x" +
      this.client
        .getSessionId()
        .toString("hex")
        .replace(/^0+(?=.)/, "")
    );
  }

  /** host:port of the server this session talks to right now, or null while disconnected. */
  get server(): string | null {
    const socket = (this.client as unknown as { connectionManager?: { socket?: { remoteAddress?: string; remotePort?: number } } }).connectionManager?.socket;
    if (this.state !== "connected" || !socket?.remoteAddress) return null;
    const host = socket.remoteAddress.includes(":") ? `[${socket.remoteAddress}]` : socket.remoteAddress;
    return `${host}:${socket.remotePort}`;
  }

  private call<T>(what: string, start: (cb: Callback<T>) => void): Promise<{ value: T; extra: unknown }> {
    // A request made while disconnected waits in the library's queue and goes out on reconnect:
    // it is "not sent" only if it fails before that, which we cannot see, so only the
    // connected check here counts as proof that nothing left.
    const sentNow = this.state === "connected";
    return new Promise((resolve, reject) => {
      const deadline = this.deadlines.start(() => reject(new DeadlineError(`${what}: no answer within ${this.timeoutMs} ms (${this.state})`)));
      start((err, value, extra) => {
        if (!this.deadlines.answer(deadline)) return;
        if (err) {
          const code = typeof (err as zookeeper.Exception).getCode === "function" ? (err as zookeeper.Exception).getCode() : 0;
          reject(new ZkError(code, `${what}: ${(err as Error).message ?? String(err)}`, sentNow));
        } else resolve({ value: value as T, extra });
      });
    });
  }

  async getChildren(path: string, watcher?: Watcher): Promise<{ children: string[]; stat: ZkStat }> {
    const { value, extra } = await this.call<string[]>(`getChildren ${path}`, (cb) => leanGetChildren(this.client, this.tap, path, watcher, cb));
    return { children: value, stat: extra as ZkStat };
  }

  async getData(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: ZkStat }> {
    const { value, extra } = await this.call<Buffer>(`getData ${path}`, (cb) => leanGetData(this.client, this.tap, path, watcher, cb));
    return { data: value, stat: extra as ZkStat };
  }

  /** The ensemble's dynamic config (/zookeeper/config, ZooKeeper 3.5+), read past any chroot as the Java client's getConfig does. */
  async getConfig(): Promise<string> {
    const { value } = await this.call<Buffer>("getConfig", (cb) => leanGetDataAbsolute(this.client, this.tap, "/zookeeper/config", cb));
    return value.toString("utf8");
  }

  /**
   * Several reads in one request (ZooKeeper 3.6+ multiRead): one answer per op, in order; an op
   * that fails answers its own error code. Arms no watch.
   */
  async multiRead(ops: readonly MultiReadOp[]): Promise<MultiReadResult[]> {
    try {
      const { value } = await this.call<MultiReadResult[]>(`multiRead of ${ops.length} (${ops[0]?.path ?? ""} …)`, (cb) =>
        leanMultiRead(this.client, this.tap, ops, cb),
      );
      return value;
    } catch (err) {
      // The server answers an opcode it does not know with UNIMPLEMENTED, then closes the connection.
      if (err instanceof ZkError && err.code === ZK.UNIMPLEMENTED) this.multiReadRefused = true;
      throw err;
    }
  }

  /** The last zxid this client has seen (8 bytes): reads sent from now on see the tree at least that new. */
  lastZxid(): Buffer {
    return Buffer.from((this.client as unknown as { connectionManager: { zxid: Buffer } }).connectionManager.zxid);
  }

  /**
   * Arms watches in SetWatches requests instead of a read each, relative to a zxid from
   * lastZxid() taken before the reads they stand for (watchers.ts armWatches). On failure they
   * are taken back out of the watch table: none of them counts as armed.
   */
  async armWatches(relativeZxid: Buffer, watches: Arming[]): Promise<void> {
    try {
      await this.call<void>(`setWatches of ${watches.length} (${watches[0]?.path ?? ""} …)`, (cb) => armWatches(this.client, relativeZxid, watches, cb));
    } catch (err) {
      disarmWatches(this.client, watches);
      throw err;
    }
  }

  /** Stat of path, or null when it does not exist. */
  async exists(path: string, watcher?: Watcher): Promise<ZkStat | null> {
    const { value } = await this.call<zookeeper.Stat | null>(`exists ${path}`, (cb) =>
      watcher ? this.client.exists(path, watcher as never, cb as never) : this.client.exists(path, cb as never),
    );
    return value ? toStat(value) : null;
  }

  /** delete(path, version): never -1 ("any version") from LockDeck. */
  async remove(path: string, version: number): Promise<void> {
    if (version < 0) throw new Error("refusing delete with version -1 (any version)");
    await this.call<void>(`delete -v ${version} ${path}`, (cb) => this.client.remove(path, version, cb as never));
  }

  async setData(path: string, data: Buffer, version: number): Promise<ZkStat> {
    if (version < 0) throw new Error("refusing setData with version -1 (any version)");
    const { value } = await this.call<zookeeper.Stat>(`setData -v ${version} ${path}`, (cb) => this.client.setData(path, data, version, cb as never));
    return toStat(value);
  }

  /** Deletes several nodes atomically (multi): all with their versions, or none. */
  async removeAll(nodes: Array<{ path: string; version: number }>): Promise<void> {
    if (nodes.some((n) => n.version < 0)) throw new Error("refusing delete with version -1 (any version)");
    const tx = this.client.transaction();
    for (const n of nodes) tx.remove(n.path, n.version);
    await this.call<unknown>(`multi(${nodes.map((n) => `delete -v ${n.version} ${n.path}`).join("; ")})`, (cb) => tx.commit(cb as never));
  }

  /** Creates a node (tests and the bench use it; the adapter never creates). */
  async create(path: string, data: Buffer, mode: number, acls?: zookeeper.ACL[]): Promise<string> {
    const { value } = await this.call<string>(`create ${path}`, (cb) =>
      acls ? this.client.create(path, data, acls, mode, cb as never) : this.client.create(path, data, mode, cb as never),
    );
    return value;
  }

  /** Creates many persistent/ephemeral nodes in one multi (bench and fault tests). */
  async createAll(nodes: Array<{ path: string; data?: Buffer; mode: number }>): Promise<void> {
    const tx = this.client.transaction();
    for (const n of nodes)
      tx.create(n.path, n.data ?? Buffer.alloc(0), (zookeeper.ACL as unknown as { OPEN_ACL_UNSAFE: zookeeper.ACL[] }).OPEN_ACL_UNSAFE, n.mode);
    await this.call<unknown>(`multi(create ×${nodes.length})`, (cb) => tx.commit(cb as never));
  }

  /** sync(path): the connected server catches up with the leader before our next read. */
  async sync(path: string): Promise<void> {
    await this.call<void>(`sync ${path}`, (cb) => syncRequest(this.client, path, cb));
  }

  close(): void {
    this.state = "closed";
    for (const l of this.listeners) l("closed");
    this.listeners.clear();
    this.client.close();
  }
}

interface FrameBuffer {
  pendingBuffer: Buffer | null;
  onSocketClosed(this: FrameBuffer, ...args: unknown[]): void;
}

/**
 * The library keeps a reply frame that has only partly arrived across connections: after a lost
 * socket, its bytes were read as the start of the next connection's ConnectResponse: the session
 * then never reconnected (a bogus frame length waits for bytes that never come), or the parse
 * threw inside the socket's data handler (an uncaught exception: the server process dies).
 * A reply cut off never completes (its request fails with a connection loss), so the partial
 * frame goes with its socket. The socket handlers are bound at each connect(), so this wrapper
 * is what every later socket calls.
 */
function dropPartialFrameOnClose(client: zookeeper.Client): void {
  const cm = (client as unknown as { connectionManager: FrameBuffer }).connectionManager;
  const closed = cm.onSocketClosed;
  cm.onSocketClosed = function (...args) {
    this.pendingBuffer = null;
    closed.apply(this, args);
  };
}

interface Handshake {
  state: number;
  socket: Socket;
  /** The library's own timeout for the TCP connect: session timeout / number of servers. */
  connectTimeout: number;
  onSocketConnected(this: Handshake, ...args: unknown[]): void;
  on(event: "state", l: (state: number) => void): void;
  off(event: "state", l: (state: number) => void): void;
}

/** The library's ConnectionManager states in which a socket can still wait for its ConnectResponse. */
const CM_CONNECTING = 1;
const CM_CLOSING = -1;

/**
 * The library times out the TCP connect, but once the socket is up it waits for the server's
 * ConnectResponse forever. A server that accepted the socket and never answers nor closes it
 * then strands the session for good, while the servers serve every other client: ZooKeeper 3.8.0
 * does exactly that to a connection made while it starts up (ZooKeeperServer.removeCnxn throws
 * before the socket is closed; ZOOKEEPER-5051), so a restart could leave LockDeck
 * "unreachable" forever. Like the Java client, we give the handshake a deadline — the command
 * deadline, at most the library's connect timeout — and then drop the socket: the library counts
 * that as a lost connection and tries the next server, with the same session.
 */
function handshakeDeadline(client: zookeeper.Client, ms: number): void {
  const cm = (client as unknown as { connectionManager: Handshake }).connectionManager;
  const connected = cm.onSocketConnected;
  cm.onSocketConnected = function (...args) {
    connected.apply(this, args);
    if (this.state !== CM_CONNECTING) return;
    const socket = this.socket;
    // Connected, expired or the socket closed ("disconnected") end the wait. close() does not:
    // its closeSession goes out on this socket, and an unanswered socket must still be dropped.
    const onState = (state: number) => state !== CM_CONNECTING && state !== CM_CLOSING && done();
    const done = () => {
      clearTimeout(timer);
      this.off("state", onState);
    };
    const timer = setTimeout(() => (done(), socket.destroy()), Math.min(ms, this.connectTimeout));
    this.on("state", onState);
  };
}

function stateName(s: zookeeper.State): SessionState | null {
  switch (s.code) {
    case zookeeper.State.SYNC_CONNECTED.code:
    case zookeeper.State.CONNECTED_READ_ONLY.code:
      return "connected";
    case zookeeper.State.DISCONNECTED.code:
      return "disconnected";
    case zookeeper.State.EXPIRED.code:
      return "expired";
    case zookeeper.State.AUTH_FAILED.code:
      return "auth-failed";
    default:
      return null;
  }
}

function long(b: Buffer): bigint {
  return b.readBigInt64BE(0);
}

/** The library's Stat (longs as 8-byte buffers) as exact strings and numbers. */
export function toStat(s: zookeeper.Stat): ZkStat {
  const owner = BigInt.asUintN(64, long(s.ephemeralOwner));
  return {
    czxid: long(s.czxid).toString(),
    mzxid: long(s.mzxid).toString(),
    ctime: Number(long(s.ctime)),
    mtime: Number(long(s.mtime)),
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: "0x" + owner.toString(16),
    dataLength: s.dataLength,
    numChildren: s.numChildren,
    pzxid: long(s.pzxid).toString(),
  };
}

export const CreateMode = zookeeper.CreateMode;

/** An ACL granting everything to one digest user (ZooKeeper's digest: base64(sha1("user:password"))). */
export function digestAcl(user: string, password: string, perms: "all" | "read" = "all"): zookeeper.ACL[] {
  const hash = createHash("sha1").update(`${user}:${password}`).digest("base64");
  const p = perms === "all" ? zookeeper.Permission.ALL : zookeeper.Permission.READ;
  return [new zookeeper.ACL(p, new zookeeper.Id("digest", `${user}:${hash}`))];
}
