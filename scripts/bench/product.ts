// The console under test. Normally the real product: `next build` (only if .next/BUILD_ID is
// missing) and `next start` on a free loopback port, read over HTTP and SSE like a browser.
// If the product cannot be built, startInProcess() runs the same Hub + EventBus + RedisAdapter
// inside the bench process instead, and every figure from it is labelled as such.

import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort } from "../servers/ports";
import { logTail, makeTempDir, startProcess, waitFor, type ServerProcess } from "../servers/process";
import { openSse } from "./sse";
import { RedisAdapter } from "../../lib/stores/redis/adapter";
import { RedisConnectionSchema } from "../../lib/stores/redis/config";
import { Hub } from "../../lib/hub/hub";
import { EventBus } from "../../lib/hub/bus";
import { parseLockQuery } from "../../lib/api/params";
import { withFreshTtls } from "../../lib/hub/fresh";
import { ROOT } from "./report";
import { procCpuMs } from "./stats";

export { ROOT };
export const CONNECTION = "bench";
const BUILD_TIMEOUT_MS = 5 * 60_000;

export interface ProcRss {
  pid: number;
  name: string;
  rssKb: number;
  hwmKb: number;
}

export interface ConsoleUnderTest {
  label: string;
  /** The server's base URL and pid (the product server only; not in the in-process fallback). */
  server?: { url: string; pid: number };
  /** Resolves once connection `id` (default: the bench's Redis connection) is live, ok, and holds `n` locks. */
  waitLive(n: number, timeoutMs: number, id?: string): Promise<void>;
  /** Calls back for every upsert and remove event of the bench connection; resolves once subscribed. */
  onEvent(cb: (type: "upsert" | "remove", key: string, at: number) => void): Promise<() => void>;
  /** How the connection follows changes, as /api/connections names it (e.g. "client tracking"). */
  feed(): Promise<string | undefined>;
  /** RSS of the console's processes, or null where it cannot be separated from the bench. */
  rss(): ProcRss[] | null;
  /** One page of the lock table, as the UI asks for it. */
  tablePage(params: URLSearchParams): Promise<{ total: number; rows: number }>;
  /** The cheapest answer the console gives: how long the server is held. */
  ping(): Promise<void>;
  /** What ping() asks, as the rows name it. */
  pingWhat: string;
  stop(): Promise<void>;
}

/** One connection of the console's config, as LOCKDECK_CONNECTIONS takes it (the store's schema fills in defaults). */
export type ConnectionConfig = { id: string; kind: string } & Record<string, unknown>;

/** The bench's one Redis connection, id CONNECTION. */
function redisConnection(redisUrl: string): ConnectionConfig {
  return { id: CONNECTION, kind: "redis", url: redisUrl, notifications: "use" };
}

function connectionsEnv(connections: ConnectionConfig[], history = true): string {
  return JSON.stringify(history ? connections : { connections, history: { enabled: false } });
}

/** What the server build is made of (tests excluded); a newer file makes the build stale. */
const BUILD_INPUTS = ["app", "lib", "components", "public", "instrumentation.ts", "next.config.js", "package.json", "postcss.config.mjs"];

function newestInput(): { file: string; mtimeMs: number } {
  let newest = { file: "", mtimeMs: 0 };
  const visit = (p: string) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    else if (!/\.test\.tsx?$/.test(p) && st.mtimeMs > newest.mtimeMs) newest = { file: path.relative(ROOT, p), mtimeMs: st.mtimeMs };
  };
  for (const input of BUILD_INPUTS) visit(path.join(ROOT, input));
  return newest;
}

/**
 * Builds the product when there is no build, or when a source file is newer than it (the
 * figures must be for the code as it is); returns a line describing the build used. If someone
 * else's `next build` holds .next, waits for it to finish and looks again.
 */
export async function ensureBuild(force = false): Promise<string> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  const idFile = path.join(ROOT, ".next", "BUILD_ID");
  const builtAt = () => fs.statSync(idFile, { throwIfNoEntry: false })?.mtimeMs;
  for (;;) {
    const built = builtAt();
    const newest = newestInput();
    if (!force && built !== undefined && newest.mtimeMs <= built) {
      const ageMin = (Date.now() - built) / 60_000;
      return `existing .next build (written ${ageMin.toFixed(0)} min before this run, newer than every source file)`;
    }
    const why = force ? "BENCH_REBUILD=1" : built === undefined ? "no .next/BUILD_ID" : `${newest.file} is newer than the build`;
    console.log(`  ${why}: running \`npx next build\` (1-2 min) ...`);
    const t0 = Date.now();
    const { code, log } = await nextBuild(deadline - Date.now());
    if (code === 0) return `fresh \`next build\` by this run (${why}; took ${((Date.now() - t0) / 1000).toFixed(0)} s)`;
    const tail = logTail(log, 40);
    if (!/Another next build process is already running/.test(tail)) throw new Error(`next build failed (${code}):\n${tail}`);
    console.log("  another `next build` is running in this checkout; waiting for it to finish ...");
    const before = builtAt();
    await waitFor(async () => builtAt() !== undefined && builtAt() !== before, {
      timeoutMs: Math.max(0, deadline - Date.now()),
      intervalMs: 1000,
      what: "the other `next build` to write .next/BUILD_ID",
    });
    force = false;
  }
}

async function nextBuild(timeoutMs: number): Promise<{ code: number | string; log: string }> {
  const log = path.join(makeTempDir("bench-build"), "next-build.log");
  const out = fs.openSync(log, "w");
  // Own process group, so a timeout kills npx and the build it started.
  const child = spawn("npx", ["next", "build"], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", out, out],
    detached: true,
  });
  fs.closeSync(out);
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once("exit", (c, sig) => {
      clearTimeout(timer);
      resolve(sig ?? c ?? -1);
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve(e.message);
    });
  });
  return { code, log };
}

/**
 * `store`: a Redis URL (the console then has the one connection CONNECTION on it), or the
 * console's whole connection list (the methods that name no connection mean CONNECTION).
 * `history: false` turns the history recorder off (a diagnostic: what the recorder itself holds).
 * `nodeArgs`: node flags for the server process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses).
 */
export async function startProduct(store: string | ConnectionConfig[], o: { history?: boolean; nodeArgs?: string[] } = {}): Promise<ConsoleUnderTest> {
  const connections = typeof store === "string" ? [redisConnection(store)] : store;
  const port = await freePort();
  const dir = makeTempDir("bench-next");
  const base = `http://127.0.0.1:${port}`;
  // startProcess passes this process's environment on to the server.
  Object.assign(process.env, {
    LOCKDECK_CONNECTIONS: connectionsEnv(connections, o.history ?? true),
    LOCKDECK_DATA_DIR: path.join(dir, "data"),
    NEXT_TELEMETRY_DISABLED: "1",
  });
  // The next binary itself (not npx), so the measured process tree is only the server.
  const server: ServerProcess = await startProcess({
    name: "next-start",
    command: process.execPath,
    args: [...(o.nodeArgs ?? []), path.join(ROOT, "node_modules", "next", "dist", "bin", "next"), "start", ROOT, "-p", String(port), "-H", "127.0.0.1"],
    dir,
    ready: async () => (await fetch(`${base}/api/health`)).ok,
    readyWhat: `GET ${base}/api/health -> 200`,
    readyTimeoutMs: 60_000,
  });
  const getJson = async (p: string) => {
    const res = await fetch(base + p);
    if (!res.ok) throw new Error(`GET ${p}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    label: `\`next start\` product server (pid ${server.pid})`,
    server: { url: base, pid: server.pid },
    async waitLive(n, timeoutMs, id = CONNECTION) {
      let last = "";
      await waitFor(
        async () => {
          const list = (await getJson("/api/connections")) as Array<Record<string, unknown>>;
          const c = list.find((x) => x.id === id);
          last = JSON.stringify({ status: c?.status, mode: c?.mode, lockCount: c?.lockCount, message: c?.message });
          return c?.mode === "live" && c?.status === "ok" && c?.lockCount === n;
        },
        { timeoutMs, intervalMs: 100, what: `/api/connections: ${id} live with ${n} locks (last: ${last})` },
      ).catch((e) => {
        throw new Error(`${(e as Error).message}; last seen ${last}\n--- server log ---\n${logTail(server.logFile)}`);
      });
    },
    async onEvent(cb) {
      let opened!: () => void;
      const first = new Promise<void>((r) => (opened = r));
      const stream = await openSse(`${base}/api/events?connection=${CONNECTION}`, (e) => {
        opened(); // the first frame (current status) proves the stream is flowing
        if (e.event === "upsert") cb("upsert", (JSON.parse(e.data) as { lock: { key: string } }).lock.key, e.at);
        if (e.event === "remove") cb("remove", (JSON.parse(e.data) as { key: string }).key, e.at);
      });
      stream.done.catch((err) => console.error(`  SSE stream broke: ${(err as Error).message}`));
      await withDeadline(first, 10_000, "the first SSE frame");
      const enc = stream.headers.get("content-encoding");
      if (enc) console.log(`  note: SSE response is ${enc}-encoded`);
      return () => stream.close();
    },
    async feed() {
      const list = (await getJson("/api/connections")) as Array<Record<string, unknown>>;
      const c = list.find((x) => x.id === CONNECTION);
      return describeFeed(c);
    },
    rss: () => processTreeRss(server.pid),
    async tablePage(params) {
      const body = (await getJson(`/api/connections/${CONNECTION}/locks?${params}`)) as { total: number; locks: unknown[] };
      return { total: body.total, rows: body.locks.length };
    },
    async ping() {
      await getJson("/api/health");
    },
    pingWhat: "GET /api/health",
    stop: () => server.stop(),
  };
}

/** Fallback: the same hub and adapter the server runs, inside this process (no HTTP, no SSE). */
export function startInProcess(redisUrl: string): ConsoleUnderTest {
  const bus = new EventBus();
  const cfg = RedisConnectionSchema.parse(redisConnection(redisUrl));
  const hub = new Hub(CONNECTION, new RedisAdapter(CONNECTION, cfg), bus);
  hub.start();
  return {
    label: "IN-PROCESS FALLBACK (Hub + EventBus in the bench process; no HTTP/SSE)",
    async waitLive(n, timeoutMs, id = CONNECTION) {
      if (id !== CONNECTION) throw new Error(`the in-process console has only the connection ${CONNECTION}, not ${id}`);
      await waitFor(
        async () => {
          const s = hub.statusEvent();
          return s.mode === "live" && s.status === "ok" && s.lockCount === n;
        },
        { timeoutMs, intervalMs: 100, what: `hub live with ${n} locks` },
      );
    },
    async onEvent(cb) {
      return bus.subscribe((e) => {
        if (e.type === "upsert") cb("upsert", e.data.lock.key, performance.now());
        if (e.type === "remove") cb("remove", e.data.key, performance.now());
      });
    },
    async feed() {
      return describeFeed(hub.statusEvent() as unknown as Record<string, unknown>);
    },
    rss: () => null,
    async tablePage(params) {
      const page = hub.query(parseLockQuery(new URL(`http://bench/?${params}`)));
      const locks = await withFreshTtls(hub, page.locks);
      return { total: page.total, rows: locks.length };
    },
    ping: () => new Promise((r) => setImmediate(r)),
    pingWhat: "turn of the event loop",
    stop: () => hub.stop(),
  };
}

function describeFeed(c: Record<string, unknown> | undefined): string | undefined {
  if (!c) return undefined;
  return c.mode === "live" ? `live (${c.feed ?? "?"})` : `${c.mode}${c.message ? `: ${c.message}` : ""}`;
}

/** utime + stime of `root` and all its live descendants, in ms (/proc). */
export function processTreeCpuMs(root: number): number {
  let sum = 0;
  for (const p of processTreeRss(root)) {
    try {
      sum += procCpuMs(p.pid);
    } catch {
      // exited meanwhile
    }
  }
  return sum;
}

/** VmRSS / VmHWM of `root` and all its descendants, from /proc. */
export function processTreeRss(root: number): ProcRss[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: ProcRss[] = [];
  const queue = [root];
  while (queue.length) {
    const p = queue.shift()!;
    queue.push(...(children.get(p) ?? []));
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, "utf8");
      const field = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").filter(Boolean).slice(0, 3).join(" ");
      out.push({ pid: p, name: cmd, rssKb: field("VmRSS"), hwmKb: field("VmHWM") });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
