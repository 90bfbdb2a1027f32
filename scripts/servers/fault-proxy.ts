// A fault-injecting TCP proxy for tests: in-process, on loopback, in front of one store port.
// The console (or any client) connects to the proxy; faults are switched on and off at run
// time, in the spirit of Toxiproxy's toxics:
//   delay(ms, dir)       latency on every chunk in one direction (order kept);
//   dropReplyAfter(pat)  the request that carries `pat` goes through to the store (it runs),
//                        but its connection's replies from then on are dropped — a lost reply;
//                        after `resetAfterMs` the connection is reset so the client reconnects;
//                        with `dropRequest` the request itself is lost too (it never runs);
//                        with `passBytes` that many reply bytes pass first (a reply cut midway);
//   blackhole()          connections stay open but nothing passes either way (a dead path);
//   hang()               new connections are accepted, then never answered nor closed, even
//                        after restore() (a server that leaked the socket; open ones still pass);
//   reset()              RST on every open connection but held ones (new ones still pass);
//   split(bytes)         replies go to the client in pieces of at most that many bytes, 1 ms
//                        apart, Nagle off (a reply frame, even its length prefix, read in parts);
//   cut() / restore()    reset everything and refuse new connections / back to normal.
// Nothing here parses a protocol: patterns are raw bytes the test picks (a Redis command name,
// an HTTP request line, a ZooKeeper opcode and path, a protobuf field).

import net from "node:net";
import { freePort } from "./ports";

const HOST = "127.0.0.1";

export type Direction = "up" | "down";

export interface FaultProxy {
  port: number;
  host: typeof HOST;
  /** host:port */
  address: string;
  /** http://host:port (an etcd or Consul endpoint through the proxy). */
  endpoint: string;
  /** Adds latency to every chunk: "down" = store → client (replies), "up" = client → store. */
  delay(ms: number, dir?: Direction | "both"): void;
  /**
   * Arms a lost reply: the first request containing `pattern` is forwarded, and every byte its
   * connection receives from the store afterwards is dropped. Resolves when it fired.
   */
  dropReplyAfter(pattern: Buffer | string, opts?: { resetAfterMs?: number; dropRequest?: boolean; passBytes?: number }): Promise<void>;
  blackhole(): void;
  /** Store → client bytes in pieces of at most `bytes`, 1 ms apart (0: whole chunks again). */
  split(bytes: number): void;
  /** Until restore(), new connections are held: accepted and read, never answered; only close() ends them. */
  hang(): void;
  reset(): void;
  cut(): void;
  /** Clears every fault (delays, black hole, hang, refusal, armed drops); held connections stay held. */
  restore(): void;
  /** Connections open now, accepted so far, the most open at once, and those hang() holds now. */
  stats(): { open: number; accepted: number; maxOpen: number; held: number };
  /** Everything that reached the store through the proxy so far (latin1; the first 16 MiB). */
  sent(): string;
  /**
   * Called with every chunk that actually passes, in each direction: a test's protocol tap.
   * `conn` numbers the proxied connection (1, 2, … in the order they were accepted).
   */
  tap(fn: TapFn | null): void;
  close(): Promise<void>;
}

export type TapFn = (dir: Direction, chunk: Buffer, conn: number) => void;

/**
 * Held-back chunks of one direction, in arrival order. One timer sends them: a timer per chunk
 * does not keep the order (Node files timers by duration and dates them on the loop's clock, so
 * under load a later chunk's timer could fire first: a split reply arrived with pieces swapped).
 */
interface Lane {
  queue: Array<{ chunk: Buffer; due: number; passing: boolean }>;
  /** The due time of the last chunk queued: later chunks are never due earlier. */
  lastDue: number;
  timer: NodeJS.Timeout | null;
}

interface Pipe {
  conn: number;
  client: net.Socket;
  upstream: net.Socket;
  dropping: boolean;
  /** While dropping: reply bytes that still pass (the start of a reply cut midway). */
  passLeft: number;
  /** Nothing more goes to the store on this connection (a lost request). */
  silent: boolean;
  tail: Buffer;
  /** Per direction: chunks held back (a delay, a split's pieces), sent in order by one timer. */
  lanes: Record<Direction, Lane>;
}

export async function startFaultProxy(targetPort: number, targetHost = HOST): Promise<FaultProxy> {
  const port = await freePort();
  const pipes = new Set<Pipe>();
  const delays: Record<Direction, number> = { up: 0, down: 0 };
  let splitBytes = 0;
  let refusing = false;
  let holed = false;
  let hanging = false;
  /** Connections hang() took: nothing reaches the store, and only close() ends them. */
  const held = new Set<net.Socket>();
  let accepted = 0;
  let maxOpen = 0;
  let armed: { pattern: Buffer; resetAfterMs: number; dropRequest: boolean; passBytes: number; fired: () => void } | null = null;
  let tapFn: TapFn | null = null;
  const sentChunks: Buffer[] = [];
  let sentBytes = 0;

  const write = (p: Pipe, dir: Direction, chunk: Buffer) => {
    tapFn?.(dir, chunk, p.conn);
    if (dir === "up" && sentBytes < 16 << 20) {
      sentChunks.push(chunk);
      sentBytes += chunk.length;
    }
    (dir === "up" ? p.upstream : p.client).write(chunk);
  };

  /**
   * `passing`: bytes of a reply being cut that pass although the pipe is dropping now; `gapMs`:
   * sent at least this long after the chunk before it (a split's pieces).
   */
  const forward = (p: Pipe, dir: Direction, chunk: Buffer, passing = false, gapMs = 0) => {
    const ms = delays[dir];
    const lane = p.lanes[dir];
    if (ms <= 0 && gapMs === 0 && lane.queue.length === 0) {
      write(p, dir, chunk);
      return;
    }
    // Later chunks never overtake earlier ones, even when the delay shrinks meanwhile.
    lane.lastDue = Math.max(Date.now() + ms, lane.lastDue + gapMs);
    lane.queue.push({ chunk, due: lane.lastDue, passing });
    pump(p, dir);
  };

  /** Sends a lane's chunks that are due, in order; one timer for the next. */
  const pump = (p: Pipe, dir: Direction) => {
    const lane = p.lanes[dir];
    if (lane.timer || lane.queue.length === 0) return;
    lane.timer = setTimeout(
      () => {
        lane.timer = null;
        const to = dir === "up" ? p.upstream : p.client;
        while (lane.queue.length > 0 && lane.queue[0].due <= Date.now()) {
          const { chunk, passing } = lane.queue.shift()!;
          if (!to.destroyed && !holed && (passing || !(dir === "down" ? p.dropping : p.silent))) write(p, dir, chunk);
        }
        pump(p, dir);
      },
      Math.max(0, lane.queue[0].due - Date.now()),
    );
  };

  const lane = (): Lane => ({ queue: [], lastDue: 0, timer: null });

  const server = net.createServer((client) => {
    if (refusing) return client.resetAndDestroy();
    if (hanging) {
      held.add(client);
      client.on("error", () => held.delete(client)).on("close", () => held.delete(client));
      client.resume(); // read and forget
      return;
    }
    accepted++;
    const upstream = net.connect({ host: targetHost, port: targetPort });
    const p: Pipe = {
      conn: accepted,
      client,
      upstream,
      dropping: false,
      passLeft: 0,
      silent: false,
      tail: Buffer.alloc(0),
      lanes: { up: lane(), down: lane() },
    };
    pipes.add(p);
    maxOpen = Math.max(maxOpen, pipes.size);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pipes.delete(p);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (chunk: Buffer) => {
      if (holed || p.silent) return;
      if (armed) {
        const window = Buffer.concat([p.tail, chunk]);
        if (window.includes(armed.pattern)) {
          const { resetAfterMs, dropRequest, passBytes, fired } = armed;
          armed = null;
          p.dropping = true;
          p.passLeft = passBytes;
          p.silent = dropRequest;
          if (resetAfterMs >= 0) setTimeout(() => (client.resetAndDestroy(), upstream.destroy()), resetAfterMs).unref();
          fired();
          if (dropRequest) return;
        } else p.tail = window.subarray(Math.max(0, window.length - armed.pattern.length + 1));
      }
      forward(p, "up", chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (holed) return;
      if (p.dropping) {
        if (p.passLeft <= 0) return;
        const part = chunk.subarray(0, p.passLeft);
        p.passLeft -= part.length;
        forward(p, "down", part, true);
        return;
      }
      if (splitBytes > 0) {
        client.setNoDelay(true);
        for (let at = 0; at < chunk.length; at += splitBytes) {
          // Each piece 1 ms after the one before: the client reads them one by one.
          forward(p, "down", chunk.subarray(at, at + splitBytes), false, 1);
        }
        return;
      }
      forward(p, "down", chunk);
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, HOST, () => resolve()));

  const resetAll = () => {
    for (const p of pipes) {
      p.client.resetAndDestroy();
      p.upstream.destroy();
    }
    pipes.clear();
  };

  return {
    port,
    host: HOST,
    address: `${HOST}:${port}`,
    endpoint: `http://${HOST}:${port}`,
    delay(ms, dir = "down") {
      if (dir === "both" || dir === "up") delays.up = ms;
      if (dir === "both" || dir === "down") delays.down = ms;
    },
    dropReplyAfter(pattern, opts = {}) {
      return new Promise<void>((fired) => {
        armed = {
          pattern: Buffer.isBuffer(pattern) ? pattern : Buffer.from(pattern),
          resetAfterMs: opts.resetAfterMs ?? 1_000,
          dropRequest: opts.dropRequest ?? false,
          passBytes: opts.passBytes ?? 0,
          fired,
        };
      });
    },
    blackhole() {
      holed = true;
    },
    split(bytes) {
      splitBytes = bytes;
    },
    hang() {
      hanging = true;
    },
    reset: resetAll,
    cut() {
      refusing = true;
      resetAll();
    },
    restore() {
      splitBytes = 0;
      refusing = false;
      holed = false;
      hanging = false;
      armed = null;
      delays.up = 0;
      delays.down = 0;
    },
    stats: () => ({ open: pipes.size, accepted, maxOpen, held: held.size }),
    sent: () => Buffer.concat(sentChunks).toString("latin1"),
    tap(fn) {
      tapFn = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of pipes) {
          p.client.destroy();
          p.upstream.destroy();
        }
        pipes.clear();
        for (const c of held) c.destroy();
        held.clear();
        server.close(() => resolve());
      }),
  };
}
