// A hand-written RESP2 read of every key's value and PTTL, with no client library: node:net and
// a minimal parser. It is what the Redis rows show beside the plain-client floor ("the fastest
// read we know"), and what scripts/bench/redis-lean.ts compares the ioredis floor with. Handles a
// loopback server without TLS or AUTH, and nothing else: a measuring stick, not a client.

import net from "node:net";

const INCOMPLETE = Symbol("incomplete");
type Reply = number | Buffer | null | Error | Reply[];

/** One connection; replies are handed out in order to whoever sent the commands. */
export class RawResp {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private readonly waiting: Array<(r: Reply) => void> = [];

  private constructor(private readonly sock: net.Socket) {
    sock.on("data", (d: Buffer) => this.onData(d));
  }

  static open(host: string, port: number): Promise<RawResp> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.setNoDelay(true);
        resolve(new RawResp(s));
      });
      s.once("error", reject);
    });
  }

  /** Writes `payload` (RESP commands) and resolves with the next `replies` replies. */
  send(payload: string, replies: number): Promise<Reply[]> {
    const out: Reply[] = [];
    return new Promise((resolve) => {
      for (let i = 0; i < replies; i++)
        this.waiting.push((r) => {
          out.push(r);
          if (out.length === replies) resolve(out);
        });
      this.sock.write(payload);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = this.off < this.buf.length ? Buffer.concat([this.buf.subarray(this.off), d]) : d;
    this.off = 0;
    for (;;) {
      const start = this.off;
      const r = this.parse();
      if (r === INCOMPLETE) {
        this.off = start; // parsed again from its start once more bytes came
        return;
      }
      this.waiting.shift()!(r);
    }
  }

  private parse(): Reply | typeof INCOMPLETE {
    const b = this.buf;
    if (this.off >= b.length) return INCOMPLETE;
    const type = b[this.off];
    const cr = b.indexOf(13, this.off);
    if (cr < 0 || cr + 1 >= b.length) return INCOMPLETE;
    if (type === 45 || type === 43) {
      const text = b.toString("utf8", this.off + 1, cr);
      this.off = cr + 2;
      return type === 45 ? new Error(text) : Buffer.from(text);
    }
    let n = 0;
    let negative = false;
    for (let i = this.off + 1; i < cr; i++) {
      if (b[i] === 45) negative = true;
      else n = n * 10 + (b[i] - 48);
    }
    if (negative) n = -n;
    if (type === 58) {
      this.off = cr + 2;
      return n;
    }
    if (type === 36) {
      if (n < 0) {
        this.off = cr + 2;
        return null;
      }
      if (cr + 2 + n + 2 > b.length) return INCOMPLETE;
      const value = b.subarray(cr + 2, cr + 2 + n);
      this.off = cr + 2 + n + 2;
      return value;
    }
    if (type === 42) {
      this.off = cr + 2;
      const items: Reply[] = [];
      for (let i = 0; i < n; i++) {
        const item = this.parse();
        if (item === INCOMPLETE) return INCOMPLETE;
        items.push(item);
      }
      return items;
    }
    throw new Error(`unexpected RESP type byte ${type}`);
  }
}

const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/** SCAN COUNT 2000, a PTTL per key and one MGET per page, 4 pages in flight; returns the number of keys read. */
export async function rawRespRead(c: RawResp): Promise<number> {
  let cursor = "0";
  let read = 0;
  const inFlight = new Set<Promise<void>>();
  do {
    const [reply] = await c.send(`*4\r\n$4\r\nSCAN\r\n${bulk(cursor)}$5\r\nCOUNT\r\n$4\r\n2000\r\n`, 1);
    const [next, keys] = reply as [Buffer, Buffer[]];
    cursor = next.toString();
    if (keys.length === 0) continue;
    const names = keys.map((k) => k.toString("utf8"));
    let payload = "";
    for (const k of names) payload += `*2\r\n$4\r\nPTTL\r\n${bulk(k)}`;
    payload += `*${names.length + 1}\r\n$4\r\nMGET\r\n`;
    for (const k of names) payload += bulk(k);
    const job = c.send(payload, names.length + 1).then(() => void (read += names.length));
    const tracked = job.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  } while (cursor !== "0");
  await Promise.all(inFlight);
  return read;
}
