// Redis Sentinel (reliability plan row 18) with real sentinels: a master, one replica and
// three sentinels. The replica is cut off (SIGSTOP, link closed) while the old master takes a new lock and
// hands another to a new holder; the master is then killed and the replica promoted. The
// console follows the new master by itself, names the lock that vanished and the one that
// went back in time in the switch, and releases go to the new master.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { startRedis, startRedisReplica, startRedisSentinels, type RedisSentinels, type RedisServer } from "../../../scripts/servers/redis";
import { waitFor } from "../../../scripts/servers/process";
import { openRegistry, closeRegistry } from "../../../scripts/servers/registry";
import type { Registry } from "../../registry";
import { requestRelease } from "../../api/release";
import { fenceOf } from "../../fence";

describe("Redis Sentinel", () => {
  let master: RedisServer;
  let replica: RedisServer;
  let sentinels: RedisSentinels;
  let reg: Registry;

  beforeAll(async () => {
    master = await startRedis({ notifyKeyspaceEvents: "KA" });
    replica = await startRedisReplica(master, { notifyKeyspaceEvents: "KA" });
    sentinels = await startRedisSentinels(master, { n: 3 });
    reg = openRegistry([
      {
        id: "s",
        kind: "redis",
        url: "redis://sentinel/0",
        topology: "sentinel",
        sentinels: sentinels.addresses,
        masterName: sentinels.masterName,
        notifications: "use",
        commandTimeoutMs: 2_000,
      },
    ]);
  }, 120_000);
  afterAll(async () => {
    await closeRegistry(reg);
    try {
      process.kill(replica.pid(), "SIGCONT");
    } catch {
      // not running
    }
    await sentinels?.stop();
    await Promise.all([master?.stop(), replica?.stop()]);
  });

  const hub = () => reg.get("s").hub;
  const holderOf = (key: string) => hub().get(key)?.holders[0]?.id;

  it("follows the new master after a failover and names the locks that vanished or changed in the switch", async () => {
    const m = new Redis(master.url);
    await m.set("lock:kept", "tok-kept-0123456789", "PX", 600_000);
    await m.set("lock:changed", "tok-before-0123456789", "PX", 600_000);
    expect(await m.wait(1, 5_000)).toBe(1);
    await waitFor(async () => holderOf("lock:kept") === "tok-kept-0123456789" && holderOf("lock:changed") === "tok-before-0123456789", {
      timeoutMs: 15_000,
      what: "the console to read both locks through the sentinels",
    });
    expect((await hub().adapter.health(AbortSignal.timeout(5_000))).server).toContain(`:${master.port}`);

    // The replica stops replicating (paused, its link closed by the master, so nothing new is
    // even in flight to it); the master goes on: a new lock, and a new holder.
    process.kill(replica.pid(), "SIGSTOP");
    expect(await m.call("CLIENT", "KILL", "TYPE", "replica")).toBe(1);
    await m.set("lock:vanishing", "tok-unreplicated-0123456789", "PX", 600_000);
    await m.set("lock:changed", "tok-after-0123456789", "PX", 600_000);
    await waitFor(async () => holderOf("lock:vanishing") !== undefined && holderOf("lock:changed") === "tok-after-0123456789", {
      timeoutMs: 15_000,
      what: "the console to see the writes the replica missed",
    });
    m.disconnect();

    // The master dies; the replica, resumed, is promoted by the sentinels.
    await master.kill9();
    process.kill(replica.pid(), "SIGCONT");
    // Snapshots read through their own connection (raw.ts) to whichever node is master now.
    const monitor = await new Redis(replica.url).monitor();
    const snapshotConnections: string[] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args.join(" ") === "CLIENT SETNAME lockdeck-snapshot") snapshotConnections.push(args.join(" "));
    });
    await waitFor(async () => (await sentinels.masterPort()) === replica.port, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: "the sentinels to promote the replica",
    });

    // The console follows: it reads the new master, which went back in time.
    await waitFor(async () => holderOf("lock:changed") === "tok-before-0123456789" && !hub().get("lock:vanishing"), {
      timeoutMs: 30_000,
      what: "the console to follow the new master",
    });
    await waitFor(
      async () =>
        hub()
          .currentProblems()
          .some((p) => p.code === "failover-vanished"),
      { timeoutMs: 15_000, what: "the failover report" },
    );
    await waitFor(async () => snapshotConnections.length > 0, { timeoutMs: 5_000, what: "a snapshot through its own connection to the new master" });
    monitor.disconnect();
    const problems = hub()
      .currentProblems()
      .filter((p) => p.code.startsWith("failover-"));
    expect(problems.map((p) => [p.code, p.key])).toEqual([
      ["failover-vanished", "lock:vanishing"],
      ["failover-changed", "lock:changed"],
    ]);
    expect(problems[0].message).toContain("tok-unreplicated-0123456789");
    expect(problems[1].message).toMatch(/tok-after-0123456789 on the old master .* by tok-before-0123456789 on the new master/);
    const server = (await hub().adapter.health(AbortSignal.timeout(5_000))).server!;
    expect(server).toContain(`:${replica.port}`);
    expect(server).toMatch(/failover .* 1 lock\(s\) vanished, 1 changed/);

    // Releases go to the new master.
    const kept = hub().get("lock:kept")!;
    const done = await requestRelease(
      reg,
      "s",
      { key: kept.key, fence: fenceOf(kept), reason: "after the failover", mode: "delete" },
      { name: "ana", role: "operator", method: "session" },
    );
    expect(done.kind === "done" && done.outcome.status).toBe("released");
    const promoted = new Redis(replica.url);
    expect(await promoted.exists("lock:kept")).toBe(0);
    promoted.disconnect();
  }, 120_000);
});
