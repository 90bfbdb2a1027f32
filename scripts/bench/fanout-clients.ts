// The fan-out bench's SSE clients (scripts/bench/fanout.ts forks this file): `count` plain
// node:http streams on /api/events, each on its own socket, read like a browser's EventSource
// (reconnects with Last-Event-ID when the server ends a stream). Runs in its own process so that
// parsing 100k frames a second is not charged to the bench driver; the server is a third process.
//
// Change 2m is SET <prefix><m+lag> (its upsert), change 2m+1 is DEL <prefix><m> (its remove);
// keys below `lag` were set before the window. Arrivals are stamped on CLOCK_MONOTONIC (process.hrtime),
// which is the same clock in every process on Linux, so the driver's send stamps compare directly.
//
// IPC: parent → {type:"open", url, count, prefix, lag, changes} | {type:"progress"} | {type:"finish", sent: number[]}
//      child  → {type:"opened", ...} | {type:"progress", ...} | {type:"summary", ...}

import http from "node:http";

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

interface Client {
  /** arrival (ms, monotonic) of each change's event; 0 = not (yet) arrived */
  arrived: Float64Array;
  got: number;
  lastId: string | null;
  reconnects: number;
  resyncs: number;
  errors: number;
  req: http.ClientRequest | null;
}

let clients: Client[] = [];
let stopping = false;
let prefix = "";
let url = "";
let lag = 0;

function parseKeyIndex(frame: string): number {
  const at = frame.indexOf(prefix);
  if (at < 0) return -1;
  let n = 0;
  let i = at + prefix.length;
  let digits = 0;
  for (; i < frame.length; i++) {
    const c = frame.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
    digits++;
  }
  return digits ? n : -1;
}

function onFrame(c: Client, frame: string, at: number, firstFrame: () => void): void {
  // Frames are `id: N\nevent: T\ndata: {...}` (lib/api/sse.ts); comments (": ping") carry no id.
  if (frame.startsWith(":")) return;
  const idEnd = frame.indexOf("\n");
  if (frame.startsWith("id: ")) c.lastId = frame.slice(4, idEnd);
  firstFrame();
  const ev = frame.slice(idEnd + 8, frame.indexOf("\n", idEnd + 1));
  if (ev === "resync") c.resyncs++;
  if (ev !== "upsert" && ev !== "remove") return;
  const k = parseKeyIndex(frame);
  if (k < 0) return;
  const change = ev === "remove" ? 2 * k + 1 : 2 * (k - lag);
  if (change >= 0 && change < c.arrived.length && c.arrived[change] === 0) {
    c.arrived[change] = at;
    c.got++;
  }
}

function connect(c: Client, onOpen: () => void): void {
  let opened = false;
  const firstFrame = () => {
    if (!opened) {
      opened = true;
      onOpen();
    }
  };
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (c.lastId) headers["last-event-id"] = c.lastId;
  const req = http.get(url, { agent: false, headers }, (res) => {
    if (res.statusCode !== 200) {
      c.errors++;
      res.resume();
      return;
    }
    res.setEncoding("latin1");
    let buf = "";
    res.on("data", (chunk: string) => {
      const at = nowMs();
      buf += chunk;
      let end: number;
      let start = 0;
      while ((end = buf.indexOf("\n\n", start)) >= 0) {
        onFrame(c, buf.slice(start, end), at, firstFrame);
        start = end + 2;
      }
      if (start) buf = buf.slice(start);
    });
    res.on("end", () => reconnect(c));
    res.on("error", () => {});
  });
  req.on("error", () => {
    c.errors++;
    reconnect(c);
  });
  c.req = req;
}

function reconnect(c: Client): void {
  if (stopping) return;
  c.reconnects++;
  // EventSource waits before reconnecting; the server's own retry hint is 1 s on shutdown only.
  setTimeout(() => connect(c, () => {}), 100);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function summarise(sent: number[]) {
  const all: number[] = [];
  const perClient: Array<{ p95: number; lost: number }> = [];
  for (const c of clients) {
    const lat: number[] = [];
    let lost = 0;
    for (let i = 0; i < sent.length; i++) {
      if (!sent[i]) continue; // a change that was not sent
      const a = c.arrived[i];
      if (a === 0) lost++;
      else lat.push(a - sent[i]);
    }
    const sorted = Float64Array.from(lat).sort();
    perClient.push({ p95: percentile(sorted, 95), lost });
    for (const x of lat) all.push(x);
  }
  const sorted = Float64Array.from(all).sort();
  const p95s = Float64Array.from(perClient.map((c) => c.p95).filter(Number.isFinite)).sort();
  const lostPer = perClient.map((c) => c.lost);
  return {
    clients: clients.length,
    samples: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    worstClientP95: p95s.length ? p95s[p95s.length - 1] : NaN,
    medianClientP95: percentile(p95s, 50),
    lostTotal: lostPer.reduce((a, b) => a + b, 0),
    clientsWithLoss: lostPer.filter((x) => x > 0).length,
    maxLostAtOneClient: Math.max(0, ...lostPer),
    minLostAtOneClient: Math.min(...lostPer),
    /** changes missing at every client alike: never published by the server (lost before the fan-out) */
    lostAtEveryClient: sent.filter((t, i) => t && clients.every((c) => c.arrived[i] === 0)).length,
    reconnects: clients.reduce((a, c) => a + c.reconnects, 0),
    resyncs: clients.reduce((a, c) => a + c.resyncs, 0),
    errors: clients.reduce((a, c) => a + c.errors, 0),
  };
}

export type FanoutSummary = ReturnType<typeof summarise>;

process.on("message", (m: { type: string; url?: string; count?: number; prefix?: string; changes?: number; lag?: number; sent?: number[] }) => {
  if (m.type === "open") {
    url = m.url!;
    prefix = m.prefix!;
    lag = m.lag!;
    let opened = 0;
    const t0 = nowMs();
    clients = Array.from({ length: m.count! }, () => ({
      arrived: new Float64Array(m.changes!),
      got: 0,
      lastId: null,
      reconnects: 0,
      resyncs: 0,
      errors: 0,
      req: null,
    }));
    // Open them a few at a time: a burst of 500 connects would be a different test (accept queue).
    let i = 0;
    const next = () => {
      for (let k = 0; k < 25 && i < clients.length; k++, i++) {
        connect(clients[i], () => {
          if (++opened === clients.length) process.send!({ type: "opened", ms: nowMs() - t0 });
        });
      }
      if (i < clients.length) setTimeout(next, 20);
    };
    next();
  } else if (m.type === "progress") {
    process.send!({
      type: "progress",
      got: clients.reduce((a, c) => a + c.got, 0),
      minGot: Math.min(...clients.map((c) => c.got)),
      reconnects: clients.reduce((a, c) => a + c.reconnects, 0),
      cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    });
  } else if (m.type === "finish") {
    stopping = true;
    const summary = summarise(m.sent!);
    for (const c of clients) c.req?.destroy();
    process.send!({ type: "summary", summary }, () => process.exit(0));
  }
});
