// Exercises the real-server helpers against redis-server 7.
import { describe, it, expect, afterAll } from "vitest";
import fs from "node:fs";
import { Cluster, Redis } from "ioredis";
import { requireBinary } from "./binaries";
import { isPortFree } from "./ports";
import { waitFor } from "./process";
import { startRedis, startRedisCluster, startRedisReplica, type RedisServer } from "./redis";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});
function client(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  cleanups.push(async () => r.disconnect());
  return r;
}

describe("requireBinary", () => {
  it("resolves installed binaries", () => {
    expect(requireBinary("redis-server", "hint")).toMatch(/\/redis-server$/);
  });
  it("throws with the install hint when missing", () => {
    expect(() => requireBinary("definitely-not-a-binary", "install it with `hint`")).toThrow(/definitely-not-a-binary not found: install it with `hint`/);
  });
});

describe("redis servers", () => {
  let primary: RedisServer;

  it("starts a single node on a free port and stop() frees it", async () => {
    const s = await startRedis({ notifyKeyspaceEvents: "KEA" });
    cleanups.push(() => s.stop());
    expect(s.port).not.toBe(6379);
    expect(s.url).toBe(`redis://127.0.0.1:${s.port}`);
    const r = client(s.url);
    expect(await r.config("GET", "notify-keyspace-events")).toEqual(["notify-keyspace-events", "AKE"]);
    expect(await r.config("GET", "save")).toEqual(["save", ""]);
    await r.set("k", "v");
    expect(await r.get("k")).toBe("v");
    r.disconnect();
    await s.stop();
    expect(await isPortFree(s.port)).toBe(true);
    expect(fs.existsSync(s.dir)).toBe(false);
    await s.stop(); // idempotent
  });

  it("restarts on the same port after kill9 and after stop", async () => {
    const s = await startRedis({ password: "p@ss" });
    cleanups.push(() => s.stop());
    const r = client(s.url);
    await r.set("k", "v");
    await s.kill9();
    expect(await isPortFree(s.port)).toBe(true);
    await s.restart();
    expect(await r.get("k")).toBeNull(); // no persistence: a restart is a clean server
    await s.stop();
    await s.restart();
    await r.set("k2", "v");
    expect(await r.get("k2")).toBe("v");
    r.disconnect();
    await s.stop();
  });

  it("starts a replica that follows the primary", async () => {
    primary = await startRedis();
    cleanups.push(() => primary.stop());
    const replica = await startRedisReplica(primary);
    cleanups.push(() => replica.stop());
    const p = client(primary.url);
    const rep = client(replica.url);
    await p.set("repl-key", "42");
    await waitFor(async () => (await rep.get("repl-key")) === "42", { timeoutMs: 5000, what: "replicated key" });
    expect(await rep.get("repl-key")).toBe("42");
    await expect(rep.set("x", "1")).rejects.toThrow(/READONLY/);
  });

  it("starts a 3-master cluster usable through ioredis Cluster", async () => {
    const cluster = await startRedisCluster(3);
    cleanups.push(() => cluster.stop());
    expect(cluster.nodes).toHaveLength(3);
    const c = new Cluster([{ host: "127.0.0.1", port: cluster.nodes[0].port }]);
    cleanups.push(async () => c.disconnect());
    for (const key of ["a", "b", "c", "lock:{orders}:1"]) await c.set(key, `v-${key}`);
    const other = new Cluster([{ host: "127.0.0.1", port: cluster.nodes[2].port }]);
    cleanups.push(async () => other.disconnect());
    for (const key of ["a", "b", "c", "lock:{orders}:1"]) expect(await other.get(key)).toBe(`v-${key}`);
    c.disconnect();
    other.disconnect();
    await cluster.stop();
    for (const n of cluster.nodes) {
      expect(await isPortFree(n.port)).toBe(true);
      expect(await isPortFree(n.port + 10000)).toBe(true);
    }
  });

  it("fails loudly with the log tail when redis cannot start", async () => {
    await expect(startRedis({ args: ["--no-such-option", "1"] })).rejects.toThrow(/exited with code 1 before ready[\s\S]*no-such-option/);
  });
});
