// Runs the Redis workload against a real redis-server started here on a unix socket in a temp
// dir (nothing listens on TCP), and checks what lands in Redis against the libraries' layouts.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisWorkload } from "./redis-workload";

let dir: string;
let socket: string;
let server: ChildProcess;
let probe: Redis;

/** Polls `check` until it returns a value, or fails once `ms` have passed. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface KeyState {
  type: string;
  pttl: number;
  value: string | null;
}

async function keyspace(): Promise<Map<string, KeyState>> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await probe.scan(cursor, "COUNT", 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  const states = new Map<string, KeyState>();
  for (const key of keys) {
    const [type, pttl] = await Promise.all([probe.type(key), probe.pttl(key)]);
    states.set(key, { type, pttl, value: type === "string" ? await probe.get(key) : null });
  }
  return states;
}

const HEX32 = /^[0-9a-f]{32}$/;
const B64_18 = /^[A-Za-z0-9+/]{24}$/;

describe("startRedisWorkload (real redis-server)", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lockdeck-redis-workload-"));
    socket = join(dir, "redis.sock");
    server = spawn("redis-server", ["--port", "0", "--unixsocket", socket, "--save", "", "--appendonly", "no", "--dir", dir], {
      stdio: "ignore",
    });
    server.on("error", (error) => {
      throw new Error(`cannot start redis-server (is it on PATH?): ${error.message}`);
    });
    await until("redis-server socket", async () => (existsSync(socket) ? true : undefined));
    probe = new Redis(socket);
    await until("PING", async () => ((await probe.ping()) === "PONG" ? true : undefined));
  });

  afterAll(() => {
    probe?.disconnect();
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the libraries' layouts, and stop() gives back live locks and closes its connections", async () => {
    const workload = await startRedisWorkload(socket, { connect: (url) => new Redis(url), seed: 11 });
    try {
      // python-redis-lock holders (steady) and the crashed no-expiry holders are there at once.
      const keys = await until("the first holders", async () => {
        const ks = await keyspace();
        return ks.has("lock:billing/invoice-run") && ks.has("lock:report:nightly") && ks.size >= 20 ? ks : undefined;
      });
      const steady = keys.get("lock:billing/invoice-run")!;
      expect(steady).toMatchObject({ type: "string" });
      expect(steady.value).toMatch(B64_18);
      expect(steady.pttl).toBeGreaterThan(0);
      expect(steady.pttl).toBeLessThanOrEqual(30_000);
      expect(keys.get("lock:report:nightly")).toEqual({ type: "string", pttl: -1, value: "1" });
      expect(keys.get("lock:migrations/schema")).toMatchObject({ type: "string", pttl: -1 });
      expect(keys.get("lock:migrations/schema")!.value).toMatch(B64_18);

      // node-redlock holders: the bare resource name, 32 hex chars, PX.
      const redlockKeys = [...keys].filter(([k]) => !k.startsWith("lock"));
      expect(redlockKeys.length).toBeGreaterThanOrEqual(5);
      for (const [key, state] of redlockKeys) {
        expect(state.value, key).toMatch(HEX32);
        expect(state.pttl, key).toBeGreaterThan(0);
        expect(state.pttl, key).toBeLessThanOrEqual(45_000);
      }
    } finally {
      await workload.stop();
    }

    // The steady python-redis-lock holders never crash: stop() released them the library's
    // way, leaving the signal list (with its 1 s expiry) behind.
    const after = await keyspace();
    expect(after.has("lock:billing/invoice-run")).toBe(false);
    const signal = after.get("lock-signal:billing/invoice-run");
    expect(signal?.type).toBe("list");
    expect(signal!.pttl).toBeGreaterThan(0);
    expect(signal!.pttl).toBeLessThanOrEqual(1000);
    // Crashed holders taken without expiry stay.
    expect(after.get("lock:report:nightly")).toEqual({ type: "string", pttl: -1, value: "1" });
    // Every workload connection closes (the server notices a moment later): only the probe stays.
    await until("workload connections to close", async () => {
      const clients = ((await probe.call("CLIENT", "LIST")) as string).trim().split("\n");
      return clients.length === 1 ? true : undefined;
    });
  });
});
