// getData, getChildren and multiRead with a lean reply reader (issue 13: the walk's CPU).
//
// node-zookeeper-client decodes every reply through its generic record code: a closure per field,
// a regular expression per vector and nested record, and a fresh 8-byte Buffer for every long
// (six per Stat, twice: once when the record is made, once when it is read). That was most of
// the ~43 µs of node CPU a 10k-node walk spent per request. These reads go out through the
// library's own queue (xid, chroot, queueing while disconnected, its pending list), like
// sync.ts's SYNC, and show the library the DELETE opcode so that it reads no payload; the reply
// frame is read here instead, straight into a ZkStat. The library has no multiRead (ZooKeeper
// 3.6+: many reads in one request, one answer each); it is framed and read here the same way.
//
// The frame: the library hands onSocketData whatever the socket read and splits frames itself;
// FrameTap feeds it exactly one frame at a time and keeps that frame in `current` while the
// library handles it, which is when the library calls the request's callback (synchronously).
// A request's callback therefore reads its reply from tap.current; no other code path does.

import type { Socket } from "node:net";
import type zookeeper from "node-zookeeper-client";
import type { ZkStat } from "../../formats/zookeeper/entry";

const OP_GET_DATA = 4;
const OP_GET_CHILDREN2 = 12;
const OP_GET_CHILDREN = 8;
const OP_MULTI_READ = 22;
/** A multi reply's entry type for an op that failed (its ErrorResponse: the code). */
const OP_ERROR = -1;
/** What the library is shown: a reply to DELETE has no payload, so it reads none. */
const OP_DELETE = 2;
/** Reply frame: int32 length, then the reply header (xid int32, zxid int64, err int32). */
const PAYLOAD_AT = 4 + 16;
const STAT_BYTES = 68;

interface ConnectionManager {
  socket: Socket | null;
  queue(request: unknown, callback: (err: Error | null) => void): void;
  registerDataWatcher(path: string, watcher: unknown): void;
  registerChildWatcher(path: string, watcher: unknown): void;
  onSocketData(this: ConnectionManager, chunk: Buffer): void;
  onSocketClosed(this: ConnectionManager, ...args: unknown[]): void;
}

export interface FrameTap {
  /** The reply frame the library is handling right now (length prefix included), or null. */
  current: Buffer | null;
}

/**
 * Feeds the library one whole reply frame per call. Installed before connect(): the library binds
 * its socket handlers at each connect, so every socket calls these. Bytes of a frame cut off by a
 * closed socket go with it (as dropPartialFrameOnClose does for the library's own buffer).
 */
export function installFrameTap(client: zookeeper.Client): FrameTap {
  const cm = connectionManager(client);
  const handle = cm.onSocketData;
  const closed = cm.onSocketClosed;
  const tap: FrameTap = { current: null };
  // The start of a frame that has not fully arrived: its pieces, their bytes, and the frame's
  // length once its 4-byte prefix is in (0 until then). Joined once, when the last piece comes.
  let pieces: Buffer[] = [];
  let have = 0;
  let need = 0;
  const keep = (bytes: Buffer) => {
    pieces = bytes.length ? [bytes] : [];
    have = bytes.length;
    need = have >= 4 ? 4 + bytes.readInt32BE(0) : 0;
  };
  cm.onSocketClosed = function (...args) {
    keep(Buffer.alloc(0));
    closed.apply(this, args);
  };
  cm.onSocketData = function (chunk) {
    const socket = this.socket;
    let buf = chunk;
    if (have > 0) {
      pieces.push(chunk);
      have += chunk.length;
      if (need === 0 && have >= 4) need = 4 + Buffer.concat(pieces).readInt32BE(0);
      if (need === 0 || have < need) return;
      buf = Buffer.concat(pieces, have);
      keep(Buffer.alloc(0));
    }
    let at = 0;
    while (buf.length - at >= 4) {
      const size = buf.readInt32BE(at);
      if (size < 0) {
        // Not a ZooKeeper reply stream: drop the connection (the library reconnects).
        socket?.destroy();
        return;
      }
      const end = at + 4 + size;
      if (end > buf.length) break;
      tap.current = buf.subarray(at, end);
      try {
        handle.call(this, tap.current);
      } finally {
        tap.current = null;
      }
      at = end;
      // The library dropped the socket (an out-of-order xid): the rest of these bytes is not for
      // the next connection.
      if (this.socket !== socket || socket?.destroyed) return;
    }
    if (at < buf.length) keep(Buffer.from(buf.subarray(at)));
  };
  return tap;
}

/** A request header the library queues like its own (it sets the xid) and whose reply it reads as DELETE's: no payload. */
export class Header {
  xid = 0;
  /** What the library reads when the reply arrives (see above). */
  readonly type = OP_DELETE;
  constructor(private readonly op: number) {}
  byteLength(): number {
    return 8;
  }
  serialize(buffer: Buffer, offset: number): number {
    buffer.writeInt32BE(this.xid, offset);
    buffer.writeInt32BE(this.op, offset + 4);
    return 8;
  }
}

/** A path as the server sees it under the client's chroot (as the library's own requests prefix it). */
export function chrooted(chroot: string, path: string): string {
  return !chroot ? path : path === "/" ? chroot : chroot + path;
}

/** {path: ustring, watch: boolean}: GetDataRequest and GetChildren2Request alike. */
class PathRequest {
  private chroot = "";
  readonly payload = this;
  readonly header: Header;
  constructor(
    op: number,
    private readonly path: string,
    private readonly watch: boolean,
    /** The path is the server's own, outside any chroot (/zookeeper/config, as the Java client's getConfig). */
    private readonly absolute = false,
  ) {
    this.header = new Header(op);
  }
  setChrootPath(chroot: string | undefined): void {
    if (!this.absolute) this.chroot = chroot ?? "";
  }
  toBuffer(): Buffer {
    const path = chrooted(this.chroot, this.path);
    const len = Buffer.byteLength(path);
    const buf = Buffer.allocUnsafe(4 + 8 + 4 + len + 1);
    buf.writeInt32BE(8 + 4 + len + 1, 0);
    this.header.serialize(buf, 4);
    buf.writeInt32BE(len, 12);
    buf.write(path, 16, "utf8");
    buf[16 + len] = this.watch ? 1 : 0;
    return buf;
  }
}

type Done<T> = (err: Error | null, value?: T, stat?: ZkStat) => void;

/** One read of a multiRead: getData (no watch) or getChildren (names only, no Stat). */
export interface MultiReadOp {
  kind: "data" | "children";
  path: string;
}

/** One answer of a multiRead, in the op's place: what it read, or the op's own error code. */
export type MultiReadResult = { data: Buffer; stat: ZkStat } | { children: string[] } | { err: number };

/**
 * MultiOperationRecord of read ops (ZooKeeper 3.6+): per op a MultiHeader {type, done=false,
 * err=-1} and its {path, watch=false} request, then the closing {-1, true, -1}. The server reads
 * the ops' watch flag and drops it: a multiRead arms no watch.
 */
class MultiReadRequest {
  private chroot = "";
  readonly payload = this;
  readonly header = new Header(OP_MULTI_READ);
  constructor(private readonly ops: readonly MultiReadOp[]) {}
  setChrootPath(chroot: string | undefined): void {
    this.chroot = chroot ?? "";
  }
  toBuffer(): Buffer {
    const paths = this.ops.map((o) => chrooted(this.chroot, o.path));
    // The request header, then per op a 9-byte MultiHeader, the path (length-prefixed) and the
    // watch flag, then the closing MultiHeader.
    let size = 8 + 9;
    for (const p of paths) size += 9 + 4 + Buffer.byteLength(p) + 1;
    const buf = Buffer.allocUnsafe(4 + size);
    buf.writeInt32BE(size, 0);
    this.header.serialize(buf, 4);
    let at = 12;
    for (let i = 0; i < paths.length; i++) {
      buf.writeInt32BE(this.ops[i].kind === "data" ? OP_GET_DATA : OP_GET_CHILDREN, at);
      buf[at + 4] = 0;
      buf.writeInt32BE(-1, at + 5);
      const len = buf.write(paths[i], at + 13, "utf8");
      buf.writeInt32BE(len, at + 9);
      buf[at + 13 + len] = 0;
      at += 14 + len;
    }
    buf.writeInt32BE(-1, at);
    buf[at + 4] = 1;
    buf.writeInt32BE(-1, at + 5);
    return buf;
  }
}

/**
 * multiRead(ops) through the library's queue, its reply read here: one answer per op, in order.
 * An op that fails (NO_NODE, NO_AUTH) fails alone; the others still read. It arms no watch.
 */
export function leanMultiRead(client: zookeeper.Client, tap: FrameTap, ops: readonly MultiReadOp[], done: Done<MultiReadResult[]>): void {
  for (const op of ops) {
    const bad = refusedPath(op.kind === "data" ? "getData" : "getChildren", op.path);
    if (bad) return done(bad);
  }
  connectionManager(client).queue(new MultiReadRequest(ops), (err) => {
    if (err) return done(err);
    let results: MultiReadResult[];
    try {
      results = multiReply(replyFrame(tap), ops);
    } catch (e) {
      return done(malformed("multiRead", ops[0]?.path ?? "", e));
    }
    done(null, results);
  });
}

/** MultiResponse: per op a MultiHeader {type, done, err} and its response; then {-1, true, -1}. */
function multiReply(frame: Buffer, ops: readonly MultiReadOp[]): MultiReadResult[] {
  const out: MultiReadResult[] = [];
  let at = PAYLOAD_AT;
  for (;;) {
    const type = frame.readInt32BE(at);
    const last = frame[at + 4] === 1;
    at += 9;
    if (last) break;
    const op = ops[out.length];
    if (!op) throw new RangeError("more answers than ops");
    if (type === OP_ERROR) {
      out.push({ err: frame.readInt32BE(at) });
      at += 4;
    } else if (type === OP_GET_DATA && op.kind === "data") {
      const [data, stat, next] = readData(frame, at);
      out.push({ data, stat });
      at = next;
    } else if (type === OP_GET_CHILDREN && op.kind === "children") {
      const [children, next] = readNames(frame, at);
      out.push({ children });
      at = next;
    } else throw new RangeError(`answer ${out.length} has type ${type}, not the op's`);
  }
  if (out.length !== ops.length) throw new RangeError(`${out.length} answers to ${ops.length} ops`);
  return out;
}

/** A reply's payload read from its frame: the value and the Stat that follows it. */
type Reply<T> = (frame: Buffer) => [T, ZkStat];

/**
 * One of the two reads, as the library does it: the path checked first, the request through its
 * queue, and on success the watcher registered (data or child, as the library would) before the
 * caller hears back. A reply that does not parse fails this request only.
 */
function leanRead<T>(
  client: zookeeper.Client,
  tap: FrameTap,
  op: typeof OP_GET_DATA | typeof OP_GET_CHILDREN2,
  path: string,
  watcher: unknown,
  reply: Reply<T>,
  done: Done<T>,
  absolute = false,
): void {
  const name = op === OP_GET_DATA ? "getData" : "getChildren";
  const bad = refusedPath(name, path);
  if (bad) return done(bad);
  const cm = connectionManager(client);
  cm.queue(new PathRequest(op, path, typeof watcher === "function", absolute), (err) => {
    if (err) return done(err);
    let value: T;
    let stat: ZkStat;
    try {
      [value, stat] = reply(replyFrame(tap));
    } catch (e) {
      return done(malformed(name, path, e));
    }
    if (watcher && op === OP_GET_DATA) cm.registerDataWatcher(path, watcher);
    else if (watcher) cm.registerChildWatcher(path, watcher);
    done(null, value, stat);
  });
}

/** GetDataResponse: {buffer data; Stat stat}. */
const dataReply: Reply<Buffer> = (frame) => {
  const [data, stat] = readData(frame, PAYLOAD_AT);
  return [data, stat];
};

/** GetChildren2Response: {vector<ustring> children; Stat stat}. */
const childrenReply: Reply<string[]> = (frame) => {
  const [names, at] = readNames(frame, PAYLOAD_AT);
  return [names, readStat(frame, at)];
};

/** {buffer data; Stat stat} at `at`: the data (copied out of the frame), its Stat, and where it ends. */
function readData(frame: Buffer, at: number): [Buffer, ZkStat, number] {
  const len = frame.readInt32BE(at);
  const dataAt = at + 4;
  const end = dataAt + Math.max(len, 0);
  if (end > frame.length) throw new RangeError("the data runs past the end of the reply");
  const data = len <= 0 ? Buffer.alloc(0) : Buffer.allocUnsafe(len);
  frame.copy(data, 0, dataAt, end);
  return [data, readStat(frame, end), end + STAT_BYTES];
}

/** vector<ustring> at `at`: the names and where the vector ends. */
function readNames(frame: Buffer, at: number): [string[], number] {
  const count = frame.readInt32BE(at);
  at += 4;
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = frame.readInt32BE(at);
    at += 4;
    if (len < 0) continue;
    if (at + len > frame.length) throw new RangeError("a name runs past the end of the reply");
    names.push(frame.toString("utf8", at, at + len));
    at += len;
  }
  return [names, at];
}

/** getData(path[, watcher]) as the library does it (the watcher registered on success), read leanly. */
export function leanGetData(client: zookeeper.Client, tap: FrameTap, path: string, watcher: unknown, done: Done<Buffer>): void {
  leanRead(client, tap, OP_GET_DATA, path, watcher, dataReply, done);
}

/** getData of a node outside the client's chroot (no watch): the ensemble's /zookeeper/config. */
export function leanGetDataAbsolute(client: zookeeper.Client, tap: FrameTap, path: string, done: Done<Buffer>): void {
  leanRead(client, tap, OP_GET_DATA, path, undefined, dataReply, done, true);
}

/** getChildren(path[, watcher]) (GetChildren2: the names and the node's Stat), read leanly. */
export function leanGetChildren(client: zookeeper.Client, tap: FrameTap, path: string, watcher: unknown, done: Done<string[]>): void {
  leanRead(client, tap, OP_GET_CHILDREN2, path, watcher, childrenReply, done);
}

/** An empty ("//") or relative ("/./", "/../") segment: what the library's Path.validate refuses. */
const MALFORMED = /\/\/|\/\.\.?(\/|$)/;

/**
 * The library's own calls refuse a malformed path before it is sent (its Path.validate); so do
 * these, with the same rules. What the walk sends is built from validated roots and names the
 * server returned, so this runs once per request and stays cheap.
 */
function refusedPath(op: string, path: string): Error | null {
  const bad = !path.startsWith("/")
    ? "is not an absolute znode path"
    : path.length > 1 && path.endsWith("/")
      ? "ends with /"
      : MALFORMED.test(path)
        ? "has an empty or relative segment"
        : null;
  return bad ? new Error(`${op} ${JSON.stringify(path)}: the path ${bad}`) : null;
}

/** A reply that does not parse fails its own request; the frame boundaries, and the session, hold. */
function malformed(op: string, path: string, err: unknown): Error {
  return new Error(`${op} ${path}: malformed reply (${(err as Error).message})`);
}

function replyFrame(tap: FrameTap): Buffer {
  // Only reachable if the library called back outside onSocketData: it never does for a reply.
  if (!tap.current) throw new Error("ZooKeeper reply callback outside its frame");
  return tap.current;
}

/** ZooKeeper's Stat (68 bytes) as toStat in client.ts makes it: longs as exact strings. */
export function readStat(b: Buffer, at: number): ZkStat {
  if (at + STAT_BYTES > b.length) throw new RangeError("the Stat runs past the end of the reply");
  return {
    czxid: decimal(b, at),
    mzxid: decimal(b, at + 8),
    ctime: int64(b, at + 16),
    mtime: int64(b, at + 24),
    version: b.readInt32BE(at + 32),
    cversion: b.readInt32BE(at + 36),
    aversion: b.readInt32BE(at + 40),
    ephemeralOwner: sessionId(b, at + 44),
    dataLength: b.readInt32BE(at + 52),
    numChildren: b.readInt32BE(at + 56),
    pzxid: decimal(b, at + 60),
  };
}

/** Below 2^53 a signed 64-bit field is exact as a number; the rest goes through BigInt. */
const SAFE_HIGH = 0x200000;

function int64(b: Buffer, at: number): number {
  const hi = b.readInt32BE(at);
  return hi >= 0 && hi < SAFE_HIGH ? hi * 0x1_0000_0000 + b.readUInt32BE(at + 4) : Number(b.readBigInt64BE(at));
}

/** A signed 64-bit field in decimal, exactly. */
function decimal(b: Buffer, at: number): string {
  const hi = b.readInt32BE(at);
  return hi >= 0 && hi < SAFE_HIGH ? String(hi * 0x1_0000_0000 + b.readUInt32BE(at + 4)) : b.readBigInt64BE(at).toString();
}

/** Session ids met lately, by their high then low 32 bits: cleared when it holds this many. */
const SESSION_IDS_KEPT = 4_096;
const sessionIds = new Map<number, Map<number, string>>();
let sessionIdsHeld = 0;

/**
 * An unsigned 64-bit session id as "0x" + hex, no leading zeros. A few sessions own most nodes:
 * each id is one string shared by every node it owns, not a chain of concatenations per node
 * that lived as long as the node (issue 13).
 */
function sessionId(b: Buffer, at: number): string {
  const hi = b.readUInt32BE(at);
  const lo = b.readUInt32BE(at + 4);
  let byLow = sessionIds.get(hi);
  const known = byLow?.get(lo);
  if (known !== undefined) return known;
  if (sessionIdsHeld >= SESSION_IDS_KEPT) {
    sessionIds.clear();
    sessionIdsHeld = 0;
    byLow = undefined;
  }
  if (!byLow) sessionIds.set(hi, (byLow = new Map()));
  const id = `0x${hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, "0")}`;
  byLow.set(lo, id);
  sessionIdsHeld++;
  return id;
}

function connectionManager(client: zookeeper.Client): ConnectionManager {
  return (client as unknown as { connectionManager: ConnectionManager }).connectionManager;
}
