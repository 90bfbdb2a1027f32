// History truth on handovers and queue reorders, with real clients end to end: the store, its
// adapter with the live feed, a hub, the bus, the recorder and SQLite.
//
//   ZooKeeper + Apache Curator InterProcessMutex, 3 contenders (one session each): contender 0
//   holds, 1 and 2 queue; 0 lets go (1 takes over), then 1 lets go (2 takes over). Truth: each
//   contender's node ctime (the store's clock: when it joined the queue) and when the program
//   printed HOLDS / LET_GO. A holding must start when it took over — not at its node's ctime —
//   its wait must run from ctime to the take-over, and the bars must not overlap.
//
//   Redis + Redisson RFairLock, a holder and 2 queued waiters, with a short fair-lock wait
//   timeout so Redisson drops the stale queue head and it re-queues at the tail again and again
//   (the reorder on-call saw after minutes, here in seconds). Truth: QUEUED / ACQUIRED lines of
//   the program. No reorder may be recorded as a waiter leaving (no false long wait); each
//   waiter joins once and, when it finally gets the lock, waited from when it first queued.
//
// Tolerance: both sides stamp on one machine; the program's line reaches us through a pipe and
// the hub reacts to the store's notification: a few tens of ms, 400 ms allowed on a loaded box.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventBus, type SequencedEvent } from "../hub/bus";
import { Hub } from "../hub/hub";
import type { StoreAdapter } from "../model";
import { ZooKeeperAdapter } from "../stores/zookeeper/adapter";
import { ZooKeeperConnectionSchema } from "../stores/zookeeper/config";
import { ZkSession } from "../stores/zookeeper/client";
import { RedisAdapter } from "../stores/redis/adapter";
import { RedisConnectionSchema } from "../stores/redis/config";
import { startZooKeeper, type ZooKeeperServer } from "../../scripts/servers/zookeeper";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { waitFor } from "../../scripts/servers/process";
import { prepareRedisson, startHold, type HoldProcess } from "../../scripts/capture/hold";
import { HOLD_JVM_FLAGS, prepareCurator } from "../../scripts/capture/curator/prepare";
import { Recorder } from "./recorder";
import { lockHistory, window } from "./query";
import type { LifeEvent } from "./types";
import { HISTORY_SETTINGS } from "../../test/support/history";

const SETTINGS = { ...HISTORY_SETTINGS, longWaitMs: 2_000 };
const TOLERANCE_MS = 400;

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

let zk: ZooKeeperServer;
let redis: RedisServer;
beforeAll(async () => {
  [zk, redis] = await Promise.all([startZooKeeper(), startRedis({ notifyKeyspaceEvents: "KA" })]);
  await Promise.all([prepareCurator(), prepareRedisson()]);
}, 300_000);
afterAll(async () => {
  await Promise.all([zk?.stop(), redis?.stop()]);
});

function rig(id: string, adapter: StoreAdapter) {
  const dir = mkdtempSync(path.join(tmpdir(), "lockdeck-handover-"));
  const bus = new EventBus();
  const hub = new Hub(id, adapter, bus);
  const upserts: SequencedEvent[] = [];
  bus.subscribe((e) => e.type === "upsert" && upserts.push(e));
  const recorder = new Recorder(bus, { records: () => hub.all(), get: (_, k) => hub.get(k) }, { dataDir: dir, settings: SETTINGS, flushEveryMs: 200 }).start();
  hub.start();
  cleanup.push(async () => {
    await recorder.stop();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { hub, recorder, upserts };
}

function track(p: HoldProcess): HoldProcess {
  cleanup.push(() => p.kill());
  return p;
}

/** When the program printed a line matching re (ms, as it arrived here), and the match. */
function stamp(p: HoldProcess, re: RegExp): { at: number; m: RegExpExecArray } {
  for (const { line, at } of p.timedLines()) {
    const m = re.exec(line);
    if (m) return { at, m };
  }
  throw new Error(`${p.label}: no line matching ${re}; got:\n${p.lines().join("\n")}`);
}

async function recorded(recorder: Recorder, key: string, from: number): Promise<LifeEvent[]> {
  await recorder.flush();
  return recorder.reader()!.events({ key, from, to: Date.now() + 60_000 });
}

describe("history truth on handovers and reorders (real clients)", () => {
  it("ZooKeeper, Curator mutex: a holding starts when it took over, its wait runs from its node's creation, bars do not overlap", async () => {
    const key = "/locks/handover";
    const adapter = new ZooKeeperAdapter(
      "zk-gt",
      ZooKeeperConnectionSchema.parse({ id: "zk-gt", kind: "zookeeper", connectString: zk.address, roots: ["/locks"] }),
    );
    const { hub, recorder } = rig("zk-gt", adapter);
    await waitFor(async () => hub.statusEvent().mode === "live" && recorder.connections.get("zk-gt")?.primed === true, {
      timeoutMs: 15_000,
      what: "the hub live and the recorder primed",
    });
    const t0 = Date.now();
    const { java, jar } = await prepareCurator();
    const p = track(startHold("curator mutex handover", java, [...HOLD_JVM_FLAGS, "-jar", jar, "hold", zk.address, "mutex", key, "3"]));
    await p.waitForLine("READY", 60_000);
    const raw = new ZkSession({ connectString: zk.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
    cleanup.push(() => raw.close());
    await raw.connected();
    // Contender i's node (by its session) and its ctime: when it joined the queue, on ZooKeeper's clock.
    const sessions = [0, 1, 2].map((i) => BigInt(stamp(p, new RegExp(`^SESSION ${i} (0x[0-9a-f]+)$`)).m[1]));
    const nodes = new Map<number, { name: string; ctime: number }>();
    for (const name of (await raw.getChildren(key)).children) {
      const { stat } = await raw.getData(`${key}/${name}`);
      const i = sessions.indexOf(BigInt(stat.ephemeralOwner));
      nodes.set(i, { name, ctime: Number(stat.ctime) });
    }
    expect([...nodes.keys()].sort()).toEqual([0, 1, 2]);
    await waitFor(async () => hub.get(key)?.waiters.length === 2, { timeoutMs: 10_000, what: "1 holder, 2 queued in the hub" });

    // Queued for a while, then the handovers.
    await new Promise((r) => setTimeout(r, 1_500));
    p.send("let-go 0");
    await p.waitForLine("HOLDS 1", 15_000);
    await waitFor(async () => hub.get(key)?.holders[0]?.id === nodes.get(1)!.name, { timeoutMs: 10_000, what: "contender 1 holding in the hub" });
    const h1 = hub.get(key)!.holders[0];
    expect(h1.sinceSource).toBe("became-holder");
    await new Promise((r) => setTimeout(r, 1_000));
    p.send("let-go 1");
    await p.waitForLine("HOLDS 2", 15_000);
    await waitFor(async () => hub.get(key)?.holders[0]?.id === nodes.get(2)!.name, { timeoutMs: 10_000, what: "contender 2 holding in the hub" });
    expect(await p.release(30_000)).toBe(0);
    await waitFor(async () => !hub.get(key)?.holders.length, { timeoutMs: 10_000, what: "the lock free in the hub" });

    const events = await recorded(recorder, key, t0 - 1_000);
    const acq = (i: number) => events.find((e) => e.kind === "acquired" && e.holder === nodes.get(i)!.name);
    const end = (i: number) => events.find((e) => (e.kind === "released" || e.kind === "expired") && e.holder === nodes.get(i)!.name);
    for (const i of [1, 2]) {
      const took = stamp(p, new RegExp(`^HOLDS ${i}$`)).at;
      const a = acq(i)!;
      expect(a, `acquisition by contender ${i}`).toBeDefined();
      // Starts at the take-over, not at the node's ctime (seconds earlier).
      expect(Math.abs(a.at - took), `contender ${i} start vs HOLDS`).toBeLessThanOrEqual(TOLERANCE_MS);
      expect(took - nodes.get(i)!.ctime).toBeGreaterThan(900);
      expect(Math.abs(a.waitMs! - (took - nodes.get(i)!.ctime)), `contender ${i} wait`).toBeLessThanOrEqual(TOLERANCE_MS);
    }
    for (const i of [0, 1]) {
      const e = end(i)!;
      expect(e, `end of contender ${i}`).toMatchObject({ kind: "released" });
      const let_ = stamp(p, new RegExp(`^LET_GO ${i}$`)).at;
      expect(Math.abs(e.at - let_), `contender ${i} end vs LET_GO`).toBeLessThanOrEqual(TOLERANCE_MS);
    }
    // The bars of the lock page: one after the other, never overlapping.
    const h = await lockHistory(recorder.reader()!, "zk-gt", key, window({ from: t0 - 1_000, to: Date.now() + 1 }, Date.now()));
    const bars = h.segments.filter((s) => [0, 1, 2].some((i) => nodes.get(i)!.name === s.holder));
    expect(bars).toHaveLength(3);
    for (let i = 1; i < bars.length; i++) expect(bars[i].start, `bar ${i} starts after bar ${i - 1} ends`).toBeGreaterThanOrEqual(bars[i - 1].end!);
    expect(h.wait.count).toBe(2);
    expect(h.hold.p95!).toBeLessThan(10_000);
    console.info(
      `[zk handover] waits ${[1, 2].map((i) => acq(i)!.waitMs).join(", ")} ms; starts vs HOLDS ${[1, 2].map((i) => acq(i)!.at - stamp(p, new RegExp(`^HOLDS ${i}$`)).at).join(", ")} ms`,
    );
  }, 120_000);

  it("Redis, Redisson fair lock: a queue reorder is not a departure; each waiter joins once and waited from when it first queued", async () => {
    const name = "orders:fair:reorder";
    const id = "redis-gt";
    const adapter = new RedisAdapter(id, RedisConnectionSchema.parse({ id, kind: "redis", url: redis.url, patterns: ["*"] }));
    const { hub, recorder, upserts } = rig(id, adapter);
    await waitFor(async () => hub.statusEvent().mode === "live" && recorder.connections.get(id)?.primed === true, {
      timeoutMs: 15_000,
      what: "the hub live and the recorder primed",
    });
    const t0 = Date.now();
    const { java, jar } = await prepareRedisson();
    // Watchdog 2 s (TTL ≤ 2 s, renewed each 0.7 s), fair wait 1 s: the queue head goes stale
    // about 3 s after it queued, is dropped by the next acquire attempt, and re-queues at the tail.
    // Each waiter holds 500 ms once it gets the lock (longer than the feed's resolution); a
    // third thread polls with tryLock(0) every 300 ms, so a stale head is dropped by someone
    // else's attempt and is out of the queue until its own next attempt re-queues it.
    const p = track(
      startHold("redisson fairlock reorder", java, [...HOLD_JVM_FLAGS, "-jar", jar, "hold", redis.url, "fairlock", name], {
        env: {
          LOCKDECK_REDISSON_WATCHDOG_MS: "2000",
          LOCKDECK_REDISSON_FAIR_WAIT_MS: "1000",
          LOCKDECK_REDISSON_WAITER_HOLD_MS: "500",
          LOCKDECK_REDISSON_FAIR_PROBE_MS: "300",
        },
      }),
    );
    await p.waitForLine("READY", 60_000);
    const waiterIds = [0, 1].map((i) => stamp(p, new RegExp(`^QUEUED ${i} (\\S+) (\\d+)$`)).m[1]);
    // Reorders, as the hub saw them while the first holder held: the queue of the two waiters
    // changed order, or one of them was gone for a moment (dropped as stale) and came back.
    const holder = hub.get(name)!.holders[0].id;
    const orders = () =>
      upserts.flatMap((e) =>
        e.type === "upsert" && e.data.lock.key === name && e.data.lock.holders[0]?.id === holder
          ? [
              e.data.lock.waiters
                .map((w) => w.id)
                .filter((w) => waiterIds.includes(w))
                .join(","),
            ]
          : [],
      );
    const changes = () => {
      const seq = orders();
      const start = seq.findIndex((o) => o.split(",").length === 2);
      return start < 0 ? [] : seq.slice(start).filter((o, i, all) => i > 0 && o !== all[i - 1]);
    };
    const reorders = () => changes().filter((o) => o.split(",").length === 2).length;
    const dropouts = () => changes().filter((o) => o.split(",").length < 2).length;
    await waitFor(async () => reorders() >= 2 && dropouts() >= 1, {
      timeoutMs: 30_000,
      what: "two queue reorders by Redisson, one with the head gone for a moment",
    });
    const firstSince = hub.get(name)!.waiters.find((w) => w.id === waiterIds[0])?.since;
    expect(await p.release(30_000)).toBe(0);
    await waitFor(async () => !hub.get(name), { timeoutMs: 10_000, what: "the fair lock drained" });

    const events = await recorded(recorder, name, t0 - 1_000);
    const ofWaiter = (wid: string) => events.filter((e) => e.holder === wid);
    for (const [i, wid] of waiterIds.entries()) {
      const mine = ofWaiter(wid);
      expect(
        mine.filter((e) => e.kind === "waiter-left"),
        `waiter ${i}: a reorder recorded as leaving`,
      ).toEqual([]);
      expect(
        mine.filter((e) => e.kind === "waiter-joined"),
        `waiter ${i} joined once`,
      ).toHaveLength(1);
      const queued = Number(stamp(p, new RegExp(`^QUEUED ${i} \\S+ (\\d+)$`)).m[1]);
      const got = Number(stamp(p, new RegExp(`^ACQUIRED ${i} \\S+ (\\d+)$`)).m[1]);
      const a = mine.find((e) => e.kind === "acquired");
      expect(a, `waiter ${i} acquired`).toBeDefined();
      expect(Math.abs(a!.waitMs! - (got - queued)), `waiter ${i}: wait ${a!.waitMs} recorded, ${got - queued} waited`).toBeLessThanOrEqual(TOLERANCE_MS);
    }
    // The hub kept the first sighting through the reorders.
    expect(firstSince).toBeDefined();
    expect(Math.abs(Date.parse(firstSince!) - Number(stamp(p, /^QUEUED 0 \S+ (\d+)$/).m[1]))).toBeLessThanOrEqual(TOLERANCE_MS);
    // No false long-wait incident from a reorder (longWaitMs is 2 s here; waits were longer,
    // so the incidents that exist are the two real, granted waits).
    const top = await (await import("./query")).contentionTop(recorder.reader()!, window({ from: t0 - 1_000, to: Date.now() + 1 }, Date.now()), 10, SETTINGS);
    const longWaits = top.incidents.filter((x) => x.key === name && x.kind === "long-wait");
    expect(longWaits.map((x) => x.holder).sort()).toEqual([...waiterIds].sort());
    const short = (o: string) =>
      o
        .split(",")
        .filter(Boolean)
        .map((w) => `w${waiterIds.indexOf(w)}`)
        .join(",") || "-";
    console.info(`[redisson reorder] ${reorders()} reorders and ${dropouts()} drop-outs seen; queue as the hub saw it: ${orders().map(short).join(" → ")}`);
  }, 120_000);
});
