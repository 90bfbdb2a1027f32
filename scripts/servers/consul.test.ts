// The Consul rig: the build script's contract (cached, idempotent, a hint when Go is missing)
// and real agents on free loopback ports.

import { afterAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isPortFree } from "./ports";
import { consulBinary, startConsul, type ConsulServer } from "./consul";

const SCRIPT = path.join(__dirname, "build-consul.sh");
const BUILD_TIMEOUT_MS = 45 * 60_000;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("build-consul.sh", () => {
  it(
    "builds (or reuses) the agent outside the repo and prints its path last; a second run is a cache hit",
    async () => {
      const bin = await consulBinary();
      expect(bin).toMatch(/\/consul-\d+\.\d+\.\d+$/);
      expect(path.relative(path.resolve(__dirname, "../.."), bin).startsWith("..")).toBe(true);
      const started = Date.now();
      const { stdout } = await promisify(execFile)("bash", [SCRIPT]);
      expect(stdout.trim().split("\n").pop()).toBe(bin);
      expect(Date.now() - started).toBeLessThan(5_000);
      const { stdout: version } = await promisify(execFile)(bin, ["version"]);
      expect(version).toMatch(/^Consul v\d+\.\d+\.\d+/);
    },
    BUILD_TIMEOUT_MS,
  );

  it("fails with an install hint (not a skip) when go is missing and nothing is cached", async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "lockdeck-consul-cache-"));
    cleanups.push(() => fs.rmSync(cache, { recursive: true, force: true }));
    const run = promisify(execFile)("bash", [SCRIPT], { env: { PATH: "/usr/bin:/bin", HOME: cache, LOCKDECK_CACHE: cache } as unknown as NodeJS.ProcessEnv });
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/'go' is not on PATH.*install Go/s) });
  });

  it("CONSUL_BIN pointing nowhere fails with the same hint", async () => {
    const saved = process.env.CONSUL_BIN;
    process.env.CONSUL_BIN = "/nonexistent/consul";
    try {
      await expect(consulBinary()).rejects.toThrow(/built from its Go module by scripts\/servers\/build-consul\.sh/);
    } finally {
      if (saved === undefined) delete process.env.CONSUL_BIN;
      else process.env.CONSUL_BIN = saved;
    }
  });
});

describe("consul agents", () => {
  let c: ConsulServer;

  it(
    "a dev agent on free loopback ports (never 8500), ready to hold sessions",
    async () => {
      c = await startConsul();
      cleanups.push(() => c.stop());
      const ports = Object.values(c.ports);
      expect(new Set(ports).size).toBe(ports.length);
      expect(ports).not.toContain(8500);
      expect(c.url).toBe(`http://127.0.0.1:${c.ports.http}`);
      const res = await fetch(`${c.url}/v1/session/create`, { method: "PUT", body: JSON.stringify({ TTL: "10s" }) });
      expect(res.status).toBe(200);
      const self = (await (await fetch(`${c.url}/v1/agent/self`)).json()) as { Config: { NodeName: string } };
      expect(self.Config.NodeName).toBe(c.node);
    },
    BUILD_TIMEOUT_MS,
  );

  it("restart() brings the same ports back with an empty store (lower raft index)", async () => {
    for (let i = 0; i < 5; i++) await fetch(`${c.url}/v1/kv/x/${i}`, { method: "PUT", body: "v" });
    const before = Number((await fetch(`${c.url}/v1/kv/x/?recurse`)).headers.get("x-consul-index"));
    await c.kill9();
    expect(await isPortFree(c.ports.http)).toBe(true);
    await c.restart();
    const res = await fetch(`${c.url}/v1/kv/x/?recurse`);
    expect(res.status).toBe(404);
    expect(Number(res.headers.get("x-consul-index"))).toBeLessThan(before);
  });

  it("stop() frees the ports and removes the temp dir", async () => {
    await c.stop();
    expect(await isPortFree(c.ports.http)).toBe(true);
    expect(fs.existsSync(c.dir)).toBe(false);
  });
});
