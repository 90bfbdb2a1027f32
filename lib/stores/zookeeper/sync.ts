// sync(path) for node-zookeeper-client, which has no SYNC call.
//
// ZooKeeper's SyncRequest is {path: ustring} under opcode 9, and its reply carries {path}.
// The library frames replies by length and matches them to requests by xid, then picks the
// reply's payload class by the *request header's* type; for an opcode it does not know it drops
// the connection. So the request below writes opcode 9 on the wire, but shows the library the
// DELETE opcode (2) when the reply comes back, whose reply has no payload: the library then hands
// us the reply header (with its error code) and ignores the rest of the frame (the echoed path).
// Everything else (xid, queueing while disconnected, chroot) is the library's own code path.
// Verified against a real server in client.test.ts (a sync reaches the server and returns OK,
// with and without a chroot, and an error code comes back as an error).

import type zookeeper from "node-zookeeper-client";
import { chrooted } from "./lean";

const OP_SYNC = 9;
const OP_DELETE = 2;

interface ConnectionManager {
  chrootPath?: string;
  queue(request: unknown, callback: (err: Error | null, response?: unknown) => void): void;
}

class SyncHeader {
  xid = 0;
  /** What the library reads when the reply arrives (see above). */
  readonly type = OP_DELETE;
  byteLength(): number {
    return 8;
  }
  serialize(buffer: Buffer, offset: number): number {
    buffer.writeInt32BE(this.xid, offset);
    buffer.writeInt32BE(OP_SYNC, offset + 4);
    return 8;
  }
}

class SyncPayload {
  private chroot = "";
  constructor(private readonly path: string) {}
  setChrootPath(chroot: string | undefined): void {
    this.chroot = chroot ?? "";
  }
  private full(): string {
    return chrooted(this.chroot, this.path);
  }
  byteLength(): number {
    return 4 + Buffer.byteLength(this.full());
  }
  serialize(buffer: Buffer, offset: number): number {
    const bytes = Buffer.from(this.full(), "utf8");
    buffer.writeInt32BE(bytes.length, offset);
    bytes.copy(buffer, offset + 4);
    return 4 + bytes.length;
  }
}

class SyncRequest {
  constructor(
    readonly header: SyncHeader,
    readonly payload: SyncPayload,
  ) {}
  toBuffer(): Buffer {
    const size = this.header.byteLength() + this.payload.byteLength();
    const buf = Buffer.alloc(size + 4);
    buf.writeInt32BE(size, 0);
    const at = 4 + this.header.serialize(buf, 4);
    this.payload.serialize(buf, at);
    return buf;
  }
}

/** Sends SYNC for path on the client's connection; the callback gets the server's error, if any. */
export function syncRequest(client: zookeeper.Client, path: string, callback: (err: Error | null) => void): void {
  const cm = (client as unknown as { connectionManager: ConnectionManager }).connectionManager;
  cm.queue(new SyncRequest(new SyncHeader(), new SyncPayload(path)), (err) => callback(err));
}
