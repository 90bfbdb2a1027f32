// RESP2, both ways, for the snapshot's own connection (raw.ts). ioredis spends ~5 µs of client
// CPU per command (a Command object, a promise, its argument and reply handling), ~90% of a
// plain ioredis read of 100k keys (docs/benchmarks.md); a page of PTTLs and one MGET written as
// one string and answered through this parser costs a tenth of that.
//
// Contract: `RespParser.push` takes the bytes as they arrive, in pieces cut anywhere, and hands
// every complete top-level reply to `onReply` in order. Nothing is parsed twice: a reply cut
// inside an array keeps the items parsed so far, a bulk string cut anywhere waits for its bytes.
// Bulk strings are Buffers (views of the received bytes), integers numbers, status replies
// strings, nil null, and error replies RespError (name "ReplyError", as ioredis names them, so
// read.ts tells a key's WRONGTYPE from a lost connection the same way for both clients).

export type RespReply = number | string | Buffer | null | RespError | RespReply[];

export class RespError extends Error {
  override name = "ReplyError";
}

/** A protocol violation: the connection's byte stream can no longer be trusted. */
export class RespProtocolError extends Error {}

/** Bulk strings and arrays larger than this are refused as a protocol error (Redis' own limit is 512 MB). */
const MAX_LENGTH = 512 * 1024 * 1024;

interface Frame {
  items: RespReply[];
  left: number;
}

export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  /** Pieces held back while a long bulk string is still arriving, and how many bytes it needs. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private need = 0;
  private readonly stack: Frame[] = [];

  constructor(private readonly onReply: (r: RespReply) => void) {}

  push(piece: Buffer): void {
    if (this.need > 0 && this.buf.length - this.off + this.heldBytes + piece.length < this.need) {
      this.held.push(piece);
      this.heldBytes += piece.length;
      return;
    }
    const rest = this.buf.length - this.off;
    if (rest === 0 && this.held.length === 0) this.buf = piece;
    else this.buf = Buffer.concat([this.buf.subarray(this.off), ...this.held, piece]);
    this.off = 0;
    this.held = [];
    this.heldBytes = 0;
    this.need = 0;
    this.drain();
  }

  /** True when no reply is half received. */
  get idle(): boolean {
    return this.stack.length === 0 && this.off >= this.buf.length && this.held.length === 0;
  }

  private drain(): void {
    const b = this.buf;
    for (;;) {
      if (this.off >= b.length) return;
      const cr = b.indexOf(13, this.off);
      // A header line not yet ended: any further byte may end it.
      if (cr < 0 || cr + 1 >= b.length) return this.wait(b.length - this.off + 1);
      const type = b[this.off];
      let value: RespReply;
      if (type === 43 /* + */ || type === 45 /* - */) {
        const text = b.toString("utf8", this.off + 1, cr);
        value = type === 43 ? text : new RespError(text);
        this.off = cr + 2;
      } else {
        const n = integer(b, this.off + 1, cr);
        if (type === 58 /* : */) {
          value = n;
          this.off = cr + 2;
        } else if (type === 36 /* $ */) {
          if (n < 0) {
            value = null;
            this.off = cr + 2;
          } else {
            if (n > MAX_LENGTH) throw new RespProtocolError(`bulk string of ${n} bytes`);
            const end = cr + 2 + n;
            if (end + 2 > b.length) return this.wait(end + 2 - this.off);
            value = b.subarray(cr + 2, end);
            this.off = end + 2;
          }
        } else if (type === 42 /* * */) {
          this.off = cr + 2;
          if (n < 0) value = null;
          else if (n > MAX_LENGTH) throw new RespProtocolError(`array of ${n} items`);
          else if (n > 0) {
            this.stack.push({ items: [], left: n });
            continue;
          } else value = [];
        } else throw new RespProtocolError(`unexpected RESP type byte ${type}`);
      }
      this.complete(value);
    }
  }

  /** A finished value goes into the array being read, or out as a reply. */
  private complete(value: RespReply): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) return this.onReply(value);
      top.items.push(value);
      if (--top.left > 0) return;
      this.stack.pop();
      value = top.items;
    }
  }

  /** Not enough bytes for the next value: pieces are held back until `bytes` from `off` are here. */
  private wait(bytes: number): void {
    this.need = bytes;
  }
}

function integer(b: Buffer, from: number, to: number): number {
  let n = 0;
  let negative = false;
  let i = from;
  if (b[i] === 45) {
    negative = true;
    i++;
  }
  if (i >= to) throw new RespProtocolError("empty number");
  for (; i < to; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) throw new RespProtocolError("malformed number");
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/**
 * Commands written as RESP arrays of bulk strings. Text arguments stay strings (one write of a
 * joined string is the cheapest path through node:net); a Buffer argument (a binary key) turns
 * the batch into bytes.
 */
export class RespWriter {
  private parts: Array<string | Buffer> = [];
  private text = "";
  private binary = false;
  count = 0;

  command(args: ReadonlyArray<string | Buffer | number>): this {
    this.text += `*${args.length}\r\n`;
    for (const a of args) {
      if (typeof a === "string") this.text += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      else if (typeof a === "number") {
        const s = String(a);
        this.text += `$${s.length}\r\n${s}\r\n`;
      } else {
        this.binary = true;
        this.parts.push(this.text + `$${a.length}\r\n`, a);
        this.text = "\r\n";
      }
    }
    this.count++;
    return this;
  }

  /** The batch as one string, or as bytes when it holds a binary argument. */
  take(): string | Buffer {
    const out = this.binary ? Buffer.concat([...this.parts, this.text].map((p) => (typeof p === "string" ? Buffer.from(p) : p))) : this.text;
    this.parts = [];
    this.text = "";
    this.binary = false;
    this.count = 0;
    return out;
  }
}
