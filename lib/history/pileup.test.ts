// A pile-up of waiters, as on-call sees it on /contention and the lock page, while it lasts:
// real Curator contenders queued on a ZooKeeper mutex (named waiters) and real Redisson clients
// blocked on an RLock (waiters Redis only counts), through the registry (hubs, recorder) and the
// history routes' answer builders. Waits in progress must count: the current heatmap cell is
// coloured with every waiter present, "waiting now" and "longest current wait" name them, the
// totals include them and an ongoing long wait is an incident — within one bucket of the
// pile-up starting, not after the waits end.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startZooKeeper, type ZooKeeperServer } from "../../scripts/servers/zookeeper";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { waitFor } from "../../scripts/servers/process";
import { prepareRedisson, startHold, type HoldProcess } from "../../scripts/capture/hold";
import { HOLD_JVM_FLAGS, prepareCurator } from "../../scripts/capture/curator/prepare";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import { historyAnswer, topAnswer } from "./api";
import { overviewAnswer } from "../api/overview";

let zk: ZooKeeperServer;
let redis: RedisServer;
let reg: Registry;
const procs: HoldProcess[] = [];
beforeAll(async () => {
  [zk, redis] = await Promise.all([startZooKeeper(), startRedis({ notifyKeyspaceEvents: "KA" }), prepareCurator(), prepareRedisson()]);
  reg = new Registry(
    ConfigSchema.parse({
      connections: [
        { id: "zk", kind: "zookeeper", connectString: zk.address, roots: ["/locks"] },
        { id: "redis", kind: "redis", url: redis.url },
      ],
      history: { longWaitMs: 2_000 },
      dataDir: mkdtempSync(path.join(tmpdir(), "ld-pileup-")),
    }),
  );
}, 300_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  for (const c of reg?.connections.values() ?? []) await c.hub.stop();
  await reg?.history?.stop();
  await Promise.all([zk?.stop(), redis?.stop()]);
});

const get = (url: string) => new Request(`http://lockdeck.test${url}`);

describe("a pile-up of waiters while it lasts (real Curator and Redisson clients)", () => {
  it("the heatmap's current cell, waiting now, the longest current wait and the totals show it; they stay counted once the waits end", async () => {
    await waitFor(
      async () =>
        [...reg.connections.values()].every((c) => c.hub.statusEvent().mode === "live") &&
        reg.history!.connections.get("zk")?.primed === true &&
        reg.history!.connections.get("redis")?.primed === true,
      {
        timeoutMs: 20_000,
        what: "both connections live and primed",
      },
    );
    // A fresh ZooKeeper: /locks does not exist yet, and the overview says so…
    expect(
      reg
        .get("zk")
        .hub.currentProblems()
        .map((p) => p.code),
    ).toEqual(["root-missing"]);
    const t0 = Date.now();
    const { java: cj, jar: cjar } = await prepareCurator();
    const curator = startHold("curator mutex pile-up", cj, [...HOLD_JVM_FLAGS, "-jar", cjar, "hold", zk.address, "mutex", "/locks/pileup", "4"]);
    procs.push(curator);
    const { java, jar } = await prepareRedisson();
    const redisson = startHold("redisson rlock pile-up", java, [
      ...HOLD_JVM_FLAGS,
      "-jar",
      jar,
      "hold",
      redis.url,
      "rlock-contended",
      "orders:pileup:lock",
      "2",
    ]);
    procs.push(redisson);
    await Promise.all([curator.waitForLine("READY", 60_000), redisson.waitForLine("READY", 60_000)]);
    const zkHub = reg.get("zk").hub;
    await waitFor(async () => zkHub.get("/locks/pileup")?.waiters.length === 3, { timeoutMs: 10_000, what: "3 Curator waiters in the hub" });
    await waitFor(async () => reg.get("redis").hub.get("orders:pileup:lock")?.anonymousWaiters?.count === 2, {
      timeoutMs: 10_000,
      what: "2 Redisson waiters in the hub",
    });
    // …until Curator creates it: the start-up problem clears (no stale "1 problem" forever).
    await waitFor(async () => reg.get("zk").hub.currentProblems().length === 0, { timeoutMs: 10_000, what: "the root-missing problem to clear" });
    expect(reg.get("zk").hub.counts().problems).toBe(0);
    const firstJoin = Math.min(...zkHub.get("/locks/pileup")!.waiters.map((w) => Date.parse(w.since!)));

    // While it lasts: the last 15 minutes in 60 buckets (15 s each): the pile-up is in the last one.
    const top = await topAnswer(reg, get("/api/contention/top"));
    const zkRow = top.locks.find((r) => r.connection === "zk" && r.key === "/locks/pileup");
    expect(zkRow, "the Curator lock is among the most contended while its waiters wait").toBeDefined();
    expect(zkRow!.waitingNow).toBe(3);
    expect(zkRow!.anonymous).toBe(0);
    const now = Date.now();
    expect(Math.abs(zkRow!.longestCurrentWaitMs! - (now - firstJoin))).toBeLessThanOrEqual(1_000);
    expect(zkRow!.cellWaiters.at(-1)).toBe(3);
    expect(zkRow!.cells.at(-1)).toBeGreaterThan(0);
    expect(zkRow!.waitMs).toBeGreaterThanOrEqual(zkRow!.cells.at(-1)!);
    const rRow = top.locks.find((r) => r.connection === "redis" && r.key === "orders:pileup:lock");
    expect(rRow, "the Redisson lock, waiters counted but not named").toMatchObject({ waitingNow: 2, anonymous: 2 });
    expect(rRow!.cellWaiters.at(-1)).toBe(2);

    // The overview: worst offenders across stores, and the trend point taken now.
    reg.history!.sampleTrend();
    const ov = await overviewAnswer(reg);
    expect(ov.worst.mostWaiters.map((o) => [o.connection, o.key, o.count])).toEqual([
      ["zk", "/locks/pileup", 3],
      ["redis", "orders:pileup:lock", 2],
    ]);
    expect(ov.worst.oldestWaiter[0]).toMatchObject({ connection: "zk", key: "/locks/pileup" });
    expect(Math.abs(ov.worst.oldestWaiter[0].ms! - (ov.now - firstJoin))).toBeLessThanOrEqual(1_000);
    expect(ov.worst.longestHold.map((o) => o.key).sort()).toEqual(["/locks/pileup", "orders:pileup:lock"]);
    expect(ov.trends.zk.at(-1)).toMatchObject({ contended: 1, waiters: 3, stale: false });
    expect(ov.trends.redis.at(-1)).toMatchObject({ contended: 1, waiters: 2 });

    // The lock page's history says the same.
    const h = await historyAnswer(reg, get(`/api/history?connection=zk&key=${encodeURIComponent("/locks/pileup")}`));
    expect(h.waitingNow).toBe(3);
    expect(h.buckets.at(-1)!.waiting).toBe(3);
    expect(h.buckets.at(-1)!.maxWaiters).toBeGreaterThanOrEqual(3);
    expect(h.waitedTotalMs).toBeGreaterThan(0);

    // A long wait in progress is an incident before it ends (longWaitMs is 2 s here).
    await waitFor(async () => Date.now() - firstJoin > 2_500, { timeoutMs: 10_000, what: "the first wait past 2 s" });
    const later = await topAnswer(reg, get("/api/contention/top"));
    expect(later.incidents.some((i) => i.kind === "long-wait" && i.ongoing && i.key === "/locks/pileup")).toBe(true);
    const totalWhileWaiting = later.locks.find((r) => r.key === "/locks/pileup")!.waitMs;

    // The waits end: the waiters get the lock one by one (and drop it at once: some holdings
    // are shorter than the feed can see, but every wait is accounted); their waits stay counted.
    expect(await curator.release(30_000)).toBe(0);
    expect(await redisson.release(60_000)).toBe(0);
    await waitFor(async () => !zkHub.get("/locks/pileup")?.waiters.length, { timeoutMs: 10_000, what: "the Curator queue drained" });
    await reg.history!.flush();
    const after = await topAnswer(reg, get("/api/contention/top"));
    const done = after.locks.find((r) => r.key === "/locks/pileup")!;
    expect(done.waitingNow).toBe(0);
    expect(done.waits).toBe(3);
    expect(done.waitMs).toBeGreaterThanOrEqual(totalWhileWaiting);
    console.info(`[pile-up] waited ${totalWhileWaiting} ms in total while waiting, ${done.waitMs} ms once done (${Date.now() - t0} ms run)`);
  }, 180_000);
});
