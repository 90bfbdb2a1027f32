// ZooKeeper's client protocol as a network observer sees it, so tests check the adapter from
// outside instead of reaching into it: the sessions the server granted and the requests the
// client sent (opcode and path), read through the fault proxy's tap; and ending a session on
// the server by its credentials, as ZooKeeper's own tests do (attach to it, then close it).
// Frames (jute): a 4-byte big-endian length, then the record. A connection's first frame each
// way is ConnectRequest / ConnectResponse; after that, requests start with xid and opcode.

import net from "node:net";
import type { FaultProxy } from "../../scripts/servers/fault-proxy";

const OPS: Record<number, string> = {
  1: "create",
  2: "delete",
  3: "exists",
  4: "getData",
  5: "setData",
  6: "getACL",
  7: "setACL",
  8: "getChildren",
  9: "sync",
  11: "ping",
  12: "getChildren2",
  14: "multi",
  15: "create2",
  19: "createContainer",
  21: "createTTL",
  22: "multiRead",
  100: "auth",
  101: "setWatches",
  105: "setWatches2",
  [-11]: "closeSession",
};
/** Opcodes whose request record starts with the znode path. */
const PATH_FIRST = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 19, 21]);

export interface WireSession {
  /** As ZkSession.sessionId and the server's logs print it: "0x" + hex without leading zeros. */
  id: string;
  credentials: { id: Buffer; password: Buffer };
}

export interface ZooKeeperWire {
  /** Sessions the server granted (an expired session's refusal is not one), in order. */
  sessions: WireSession[];
  /** ConnectRequests sent: one per (re)connect. */
  connects: number;
  /** Requests sent after the handshake, in order; a multiRead with each of its reads. */
  requests: { op: string; path?: string; reads?: { op: string; path: string }[] }[];
}

/** Every read sent, each of a multiRead's on its own (getData, getChildren, getChildren2, exists). */
export function readsSent(wire: ZooKeeperWire): { op: string; path?: string }[] {
  return wire.requests.flatMap((r): { op: string; path?: string }[] =>
    r.op === "multiRead" ? (r.reads ?? []) : ["getData", "getChildren", "getChildren2", "exists"].includes(r.op) ? [r] : [],
  );
}

export const sessionHex = (id: Buffer) => "0x" + id.toString("hex").replace(/^0+(?=.)/, "");

/** Follows every ZooKeeper connection through `proxy` from now on (four-letter words are skipped). */
export function tapZooKeeper(proxy: FaultProxy): ZooKeeperWire {
  const wire: ZooKeeperWire = { sessions: [], connects: 0, requests: [] };
  const conns = new Map<number, { up: Buffer; down: Buffer; upFrames: number; answered: boolean; fourLetter: boolean }>();
  proxy.tap((dir, chunk, conn) => {
    let c = conns.get(conn);
    if (!c) conns.set(conn, (c = { up: Buffer.alloc(0), down: Buffer.alloc(0), upFrames: 0, answered: false, fourLetter: false }));
    if (c.fourLetter) return;
    if (dir === "up" && c.upFrames === 0 && c.up.length === 0 && /^[a-z]{4}$/.test(chunk.subarray(0, 4).toString("latin1"))) {
      c.fourLetter = true; // srvr, cons, …: text, not jute
      return;
    }
    if (dir === "down") {
      if (c.answered) return; // only the handshake's answer matters; replies may be megabytes
      c.down = Buffer.concat([c.down, chunk]);
      const frame = nextFrame(c.down);
      if (!frame) return;
      c.answered = true;
      c.down = Buffer.alloc(0);
      const timeOut = frame.readInt32BE(4);
      const id = frame.subarray(8, 16);
      const password = frame.subarray(20, 20 + frame.readInt32BE(16));
      if (timeOut > 0) wire.sessions.push({ id: sessionHex(id), credentials: { id: Buffer.from(id), password: Buffer.from(password) } });
      return;
    }
    c.up = Buffer.concat([c.up, chunk]);
    for (let frame = nextFrame(c.up); frame; frame = nextFrame(c.up)) {
      c.up = c.up.subarray(4 + frame.length);
      if (c.upFrames++ === 0) {
        wire.connects++;
        continue;
      }
      const type = frame.readInt32BE(4);
      const path = PATH_FIRST.has(type) ? frame.subarray(12, 12 + frame.readInt32BE(8)).toString("utf8") : undefined;
      wire.requests.push({ op: OPS[type] ?? `op${type}`, ...(path === undefined ? {} : { path }), ...(type === 22 ? { reads: multiReads(frame) } : {}) });
    }
  });
  return wire;
}

/** A multiRead's reads: after the header, per op a MultiHeader {type, done, err} and {path, watch}, until done. */
function multiReads(frame: Buffer): { op: string; path: string }[] {
  const out: { op: string; path: string }[] = [];
  let at = 8;
  while (at + 9 <= frame.length && frame[at + 4] === 0) {
    const type = frame.readInt32BE(at);
    const len = frame.readInt32BE(at + 9);
    out.push({ op: OPS[type] ?? `op${type}`, path: frame.subarray(at + 13, at + 13 + len).toString("utf8") });
    at += 13 + len + 1;
  }
  return out;
}

function nextFrame(buf: Buffer): Buffer | null {
  if (buf.length < 4) return null;
  const len = buf.readInt32BE(0);
  return buf.length < 4 + len ? null : buf.subarray(4, 4 + len);
}

/**
 * Attaches to a session by its credentials and closes it: "ended" when it was alive (it is now
 * closed on the server), "expired" when the server no longer knows it.
 */
export function endSession(address: string, credentials: WireSession["credentials"], timeoutMs = 5_000): Promise<"ended" | "expired"> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  const connect = Buffer.alloc(4 + 8 + 4 + 8 + 4 + credentials.password.length + 1);
  let at = connect.writeInt32BE(0, 0); // protocol version
  at = connect.writeBigInt64BE(0n, at); // last zxid seen
  at = connect.writeInt32BE(10_000, at); // session timeout asked for
  at += credentials.id.copy(connect, at);
  at = connect.writeInt32BE(credentials.password.length, at);
  at += credentials.password.copy(connect, at);
  connect.writeUInt8(0, at); // not read-only
  const close = Buffer.alloc(8);
  close.writeInt32BE(1, 0); // xid
  close.writeInt32BE(-11, 4); // closeSession
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(new Error(`no answer from ${address} within ${timeoutMs} ms`)), timeoutMs);
    let buf = Buffer.alloc(0);
    let attached = false;
    const done = (r: "ended" | "expired") => (clearTimeout(timer), socket.destroy(), resolve(r));
    const fail = (err: Error) => (clearTimeout(timer), socket.destroy(), reject(err));
    socket.on("error", fail);
    socket.on("close", () => (attached ? done("ended") : fail(new Error(`${address} closed the connection before answering`))));
    socket.on("connect", () => socket.write(withLength(connect)));
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (let frame = nextFrame(buf); frame; frame = nextFrame(buf)) {
        buf = buf.subarray(4 + frame.length);
        if (attached) return done("ended"); // closeSession's reply
        if (frame.readInt32BE(4) <= 0) return done("expired");
        attached = true;
        socket.write(withLength(close));
      }
    });
  });
}

function withLength(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}
