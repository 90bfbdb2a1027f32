// How much of the Redis floor is the client library: the bench's ioredis floor against the same
// read through a raw RESP2 pipeline (node:net and a minimal parser in this file, no ioredis):
//   npx tsx scripts/bench/redis-lean.ts [pairs=8] [keys=100000]
// Both read every key of the bench mix (scripts/bench/redis-data.ts) as the floor does: SCAN
// COUNT 2000, one pipeline per page with a PTTL per key and one MGET, 4 pages in flight, values
// kept as Buffers. Paired, alternating order, a full GC before each; prints wall time, node CPU
// and redis-server CPU of each read. A diagnostic for docs/benchmarks.md, not a bench row: the
// raw reader handles a loopback server without TLS or AUTH, and nothing else.

import Redis from "ioredis";
import net from "node:net";
import { startRedis } from "../servers/redis";
import { writeLocks } from "./redis-data";
import { redisFloorRead } from "./redis-floor";
import { collectGarbage, median, ownCpuMs, procCpuMs } from "./stats";

const INCOMPLETE = Symbol("incomplete");
type Reply = number | Buffer | null | Error | Reply[];

/** One connection; replies are handed out in order to whoever sent the commands. */
class RawResp {
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

/** The floor's read through RawResp; returns the number of keys read. */
async function rawRead(c: RawResp): Promise<number> {
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

async function main(): Promise<void> {
  const pairs = Number(process.argv[2] ?? 8);
  const n = Number(process.argv[3] ?? 100_000);
  const server = await startRedis();
  const redis = new Redis(server.url);
  const url = new URL(server.url);
  const raw = await RawResp.open(url.hostname, Number(url.port));
  try {
    await writeLocks(redis, n, [3600, 7200]);
    const pid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
    const timed = async (read: () => Promise<number>) => {
      collectGarbage();
      const [node0, redis0, t0] = [ownCpuMs(), procCpuMs(pid), performance.now()];
      const keys = await read();
      if (keys !== n) throw new Error(`read ${keys} keys, expected ${n}`);
      return { wall: performance.now() - t0, node: ownCpuMs() - node0, redis: procCpuMs(pid) - redis0 };
    };
    const floor = () => timed(() => redisFloorRead(redis, { values: "MGET", scanCount: 2000, inFlight: 4 }));
    const lean = () => timed(() => rawRead(raw));
    for (let i = 0; i < 2; i++) {
      await floor(); // warm-up, both
      await lean();
    }
    const rows: Array<{ floor: Awaited<ReturnType<typeof floor>>; raw: Awaited<ReturnType<typeof lean>> }> = [];
    for (let i = 0; i < pairs; i++) {
      const first = i % 2 ? await lean() : await floor();
      const second = i % 2 ? await floor() : await lean();
      const row = i % 2 ? { floor: second, raw: first } : { floor: first, raw: second };
      rows.push(row);
      const f = (x: { wall: number; node: number; redis: number }) =>
        `wall ${x.wall.toFixed(0)} ms, node ${x.node.toFixed(0)} ms, redis ${x.redis.toFixed(0)} ms`;
      console.log(`pair ${i + 1}: ioredis floor ${f(row.floor)} | raw RESP2 ${f(row.raw)}`);
    }
    const med = (pick: (r: (typeof rows)[number]) => number) => median(rows.map(pick)).toFixed(0);
    console.log(
      `median: ioredis floor wall ${med((r) => r.floor.wall)} ms, node ${med((r) => r.floor.node)} ms, redis ${med((r) => r.floor.redis)} ms; ` +
        `raw RESP2 wall ${med((r) => r.raw.wall)} ms, node ${med((r) => r.raw.node)} ms, redis ${med((r) => r.raw.redis)} ms`,
    );
  } finally {
    raw.close();
    redis.disconnect();
    await server.stop();
  }
}

void main();
