// The ZooKeeper adapter against locks taken by the REAL lock libraries: Apache Curator 5.9 (a
// JVM running scripts/capture/curator in hold mode) and kazoo 2.11 (Python, scripts/capture/kazoo),
// on a real ZooKeeper 3.8 started for this file. What LockDeck shows must be what the library
// did, and a LockDeck release must hand the lock to the library's next waiter.
// A missing toolchain (java, mvn, python3, zkServer.sh) FAILS the suite with how to install it.

import { beforeAll, describe, expect, it } from "vitest";
import { decodeFence, fenceOf, withFence } from "../../fence";
import { CreateMode } from "./client";
import { targetOf } from "./release";
import {
  BUILD_TIMEOUT_MS,
  curatorCapture,
  curatorHold,
  kazooCapture,
  kazooHold,
  lockAt,
  signal,
  until,
  zookeeperFixture,
} from "../../../test/support/zookeeper";
import { prepareCurator } from "../../../scripts/capture/curator/prepare";
import { prepareKazoo } from "../../../scripts/capture/kazoo/prepare";
import type { LockRecord, StoreChange } from "../../model";

const zk = zookeeperFixture();

beforeAll(async () => {
  // Build/locate both programs once, before the per-test deadlines start.
  await Promise.all([prepareCurator(), prepareKazoo()]);
}, BUILD_TIMEOUT_MS);

describe("Apache Curator 5.9 (real clients in a JVM)", () => {
  it("InterProcessMutex: holder, waiters in order, owner and session as Curator wrote them; czxid fences", async () => {
    const h = await curatorHold(zk.server, "mutex", "/locks/orders");
    const adapter = zk.adapter();
    const snap = await adapter.snapshot(signal);
    const l = snap.locks.find((x) => x.key === "/locks/orders")!;
    expect(l.format).toBe("curator.mutex");
    expect(l.state).toBe("held");
    expect(h.who(l.holders[0].session?.id)).toBe(0);
    expect(l.waiters.map((w) => w.position)).toEqual([1, 2]);
    // Waiters carry no session in the model; their node names sort by sequence, matching start order.
    const nodes = (await zk.raw.getChildren("/locks/orders")).children;
    const sessions = await Promise.all(l.waiters.map(async (w) => (await zk.raw.exists(`/locks/orders/${w.id}`))!.ephemeralOwner));
    expect(sessions.map((s) => h.who(s))).toEqual([1, 2]);
    expect(nodes).toHaveLength(3);
    expect(l.holders[0].owner).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(l.holders[0].ownerNote).toBe("client address or id");
    const holderStat = (await zk.raw.exists(`/locks/orders/${l.holders[0].id}`))!;
    expect(l.fencingToken).toBe(holderStat.czxid);
    expect(snap.consistency).toMatch(/^sync\(\) then read · answered by 127\.0\.0\.1:\d+ \(standalone\)$/);
    expect(snap.problems).toEqual([]);
  });

  it("versioned release: a holding that changed meanwhile is refused (409), the exact one hands the lock to the next contender", async () => {
    const h = await curatorHold(zk.server, "mutex", "/locks/payout");
    const adapter = zk.adapter();
    const seen = await lockAt(adapter, "/locks/payout");
    const holderPath = `/locks/payout/${seen.holders[0].id}`;
    const plan = adapter.describeRelease(withFence(seen), "delete");
    expect(plan.modes).toEqual(["delete"]);
    expect(plan.command).toBe(`zkCli.sh -server ${zk.server.address} delete -v 0 ${holderPath}`);
    expect(plan.notes.join(" ")).toMatch(new RegExp(`session ${h.sessions[0]} is still alive .* is NOT told`));
    expect(plan.holderNotified).toBe(false);
    expect(plan.wakes).toContain(seen.waiters[0].id);

    // The holder's node changes (its data version moves) between the look and the release.
    await zk.raw.setData(holderPath, Buffer.from("10.0.0.9"), 0);
    const refused = await adapter.forceRelease(withFence(seen), "delete", signal);
    expect(refused.status).toBe("changed");
    const current = refused.status === "changed" ? refused.current! : seen;
    expect(current.holders[0].id).toBe(seen.holders[0].id);
    expect(targetOf(decodeFence(fenceOf(current)).h)).toMatchObject({ t: "delete", nodes: [{ path: holderPath, version: 1 }] });
    expect(await zk.raw.exists(holderPath)).not.toBeNull(); // nothing deleted

    // Re-observed: the release of exactly what is there now goes through.
    expect(await adapter.forceRelease(withFence(current), "delete", signal)).toEqual({ status: "released", detail: `deleted ${holderPath}` });
    await h.proc.waitForLine("HOLDS 1", 15_000);
    const after = await until(adapter, "/locks/payout", "contender 1 holds", (l) => h.who(l?.holders[0]?.session?.id) === 1);
    expect(after!.waiters).toHaveLength(1);
    expect(Number(after!.fencingToken)).toBeGreaterThan(Number(seen.fencingToken));
    // The same fence again: its node is gone, but the lock is held (by contender 1): changed, not "already released".
    const again = await adapter.forceRelease(withFence(current), "delete", signal);
    expect(again.status).toBe("changed");
    expect(h.who((again as { current: LockRecord | null }).current?.holders[0]?.session?.id)).toBe(1);
    // The evicted holder still believes it holds: Curator is not told. Its own release later is harmless.
    expect(h.proc.lines()).not.toContain("LET_GO 0");
  });

  it("a revocable holder can be asked to release (Curator's __REVOKE__ marker), and it does", async () => {
    const h = await curatorHold(zk.server, "mutex-revocable", "/locks/revocable", 2);
    const adapter = zk.adapter();
    const seen = await lockAt(adapter, "/locks/revocable");
    expect(seen.warnings).toContain("revocable");
    const plan = adapter.describeRelease(withFence(seen), "ask-holder");
    expect(plan.modes).toEqual(["delete", "ask-holder"]);
    expect(plan.holderNotified).toBe(true);
    expect(plan.command).toMatch(/ set -v 0 \/locks\/revocable\/_c_.* __REVOKE__$/);
    const out = await adapter.forceRelease(withFence(seen), "ask-holder", signal);
    expect(out.status).toBe("released");
    await h.proc.waitForLine("REVOKED 0", 15_000);
    await h.proc.waitForLine("HOLDS 1", 15_000);
    await until(adapter, "/locks/revocable", "contender 1 holds", (l) => h.who(l?.holders[0]?.session?.id) === 1);
  });

  it("InterProcessSemaphoreV2 used by two threads of ONE CuratorFramework: the first thread's lease holds, the second's waits; a release deletes the held lease and the waiting thread takes the permit", async () => {
    const key = "/locks/sem-threads";
    const h = await curatorHold(zk.server, "semaphore-threads", key, 2);
    const session = h.sessions[0];
    expect(h.sessions).toEqual([session, session]); // one session, two threads
    const leases = (await zk.raw.getChildren(`${key}/leases`)).children.sort((a, b) => a.slice(-10).localeCompare(b.slice(-10)));
    const queue = (await zk.raw.getChildren(`${key}/locks`)).children;
    expect(leases).toEqual([expect.stringMatching(/-lease-0000000000$/), expect.stringMatching(/-lease-0000000001$/)]);
    expect(queue).toHaveLength(1); // thread 1 holds the semaphore's locks/ mutex while it waits
    expect((await zk.raw.exists(`${key}/locks/${queue[0]}`))!.ephemeralOwner).toBe(session);

    const adapter = zk.adapter();
    const seen = await lockAt(adapter, key);
    expect([seen.format, seen.state]).toEqual(["curator.semaphore", "held"]);
    expect(seen.holders.map((x) => x.id)).toEqual([leases[0]]);
    expect(seen.holders[0].session?.id).toBe(session);
    expect(seen.waiters.map((w) => w.id)).toEqual([leases[1]]);
    expect(seen.warnings).toContain("one-session-several-leases");
    const held = `${key}/leases/${leases[0]}`;
    const plan = adapter.describeRelease(withFence(seen), "delete");
    expect(plan.command).toBe(`zkCli.sh -server ${zk.server.address} delete -v 0 ${held}`);
    expect(plan.notes.join(" ")).toMatch(/never a lease a client is waiting with/);

    expect(await adapter.forceRelease(withFence(seen), "delete", signal)).toEqual({ status: "released", detail: `deleted ${held}` });
    await h.proc.waitForLine("HOLDS 1", 15_000);
    const after = await until(adapter, key, "thread 1's lease holds", (l) => l?.holders.map((x) => x.id).join() === leases[1] && l.waiters.length === 0);
    expect(after!.warnings).not.toContain("one-session-several-leases");
    // Thread 0 still believes it holds: Curator is not told.
    expect(h.proc.lines()).not.toContain("LET_GO 0");
  });

  it("every Curator recipe at once (rwlock, semaphore, latch, selector) decodes live", async () => {
    await curatorCapture(zk.server, "/locks/curator-all");
    const adapter = zk.adapter({ roots: ["/locks/curator-all"] });
    const snap = await adapter.snapshot(signal);
    expect(snap.problems).toEqual([]);
    const byName: Record<string, LockRecord> = Object.fromEntries(snap.locks.map((l) => [l.key.split("/").pop()!, l]));
    expect(Object.keys(byName).sort()).toEqual(["latch", "mutex", "mutex-revocable", "rwlock-read", "rwlock-write", "selector", "semaphore"]);
    expect(byName["rwlock-read"].format).toBe("curator.rwlock");
    expect(byName["rwlock-read"].holders).toHaveLength(2);
    expect(byName.semaphore.holders).toHaveLength(2);
    expect(byName.semaphore.waiters).toHaveLength(1);
    expect(byName.latch.format).toBe("curator.leader-latch");
    expect(byName.selector.holders[0].owner).toMatch(/^selector-0/);
  });
});

describe("kazoo 2.11 (real clients in Python)", () => {
  it("Lock: identifiers as owners, ordered waiters; a release hands over to the next kazoo contender", async () => {
    const h = await kazooHold(zk.server, "lock", "/locks/kazoo-job");
    const adapter = zk.adapter();
    const seen = await lockAt(adapter, "/locks/kazoo-job");
    expect(seen.format).toBe("kazoo.lock");
    expect(seen.holders[0].owner).toBe("kazoo-0");
    expect(seen.waiters.map((w) => w.owner)).toEqual(["kazoo-1", "kazoo-2"]);
    expect(h.who(seen.holders[0].session?.id)).toBe(0);
    expect((await adapter.forceRelease(withFence(seen), "delete", signal)).status).toBe("released");
    await h.proc.waitForLine("HOLDS 1", 15_000);
    const now = await until(adapter, "/locks/kazoo-job", "kazoo-1 holds", (l) => l?.holders[0]?.owner === "kazoo-1");
    expect(now!.waiters.map((w) => w.owner)).toEqual(["kazoo-2"]);
  });

  it("ReadLock/WriteLock and Semaphore decode live; a persistent lock node is flagged", async () => {
    await kazooCapture(zk.server, "/locks/kazoo-all");
    const adapter = zk.adapter({ roots: ["/locks/kazoo-all"] });
    const snap = await adapter.snapshot(signal);
    expect(snap.problems).toEqual([]);
    const byName: Record<string, LockRecord> = Object.fromEntries(snap.locks.map((l) => [l.key.split("/").pop()!, l]));
    expect(Object.keys(byName).sort()).toEqual(["lock", "lock-persistent", "rwlock-read", "rwlock-write", "semaphore"]);
    expect(byName["rwlock-read"].holders.map((x) => x.owner)).toEqual(["kazoo-0", "kazoo-1"]);
    expect(byName.semaphore.permitsFree).toBe(0);
    expect(byName.semaphore.waiters).toHaveLength(1);
    expect(byName["lock-persistent"].warnings).toContain("no-expiry");
  });
});

describe("live updates and left-behind parents", () => {
  it("watches report the contenders' changes; the left-behind parent can be pruned, and only while empty", async () => {
    // Its own persistent root: Curator made /locks a container, which the server may reap.
    await zk.raw.create("/live", Buffer.alloc(0), CreateMode.PERSISTENT);
    await zk.raw.create("/live/old", Buffer.alloc(0), CreateMode.PERSISTENT);
    await zk.raw.create("/live/old/0123456789abcdef0123456789abcdef__lock__0000000000", Buffer.from("old"), CreateMode.EPHEMERAL);
    const adapter = zk.adapter({ roots: ["/live"] });
    await adapter.snapshot(signal);
    const feed = new AbortController();
    const batches: StoreChange[] = [];
    const done = (async () => {
      for await (const c of adapter.watch(feed.signal)) batches.push(c);
    })();
    try {
      const h = await kazooHold(zk.server, "lock", "/live/job", 2);
      // The new directory shows up through the watch on /live; the re-read lists /live again and
      // reads only its new child, not /live/old.
      await waitUntil(() => batches.some((b) => b.keys.includes("/live")), "a change on /live");
      const { locks } = await adapter.reread(["/live"], signal);
      expect(locks.map((l) => l.key)).toEqual(["/live/job"]);
      batches.length = 0;
      expect(await h.proc.release(15_000)).toBe(0);
      await waitUntil(() => batches.some((b) => b.keys.includes("/live/job")), "a change on /live/job");
      const empty = await lockAt(adapter, "/live/job");
      expect([empty.format, empty.state]).toEqual(["zk.empty-parent", "free"]);
      const plan = adapter.describeRelease(withFence(empty), "prune-empty");
      expect(plan.modes).toEqual(["prune-empty"]);

      // A contender arrives between the look and the prune: ZooKeeper refuses, nothing deleted.
      const node = await zk.raw.create("/live/job/0123456789abcdef0123456789abcdef__lock__", Buffer.from("late"), CreateMode.EPHEMERAL_SEQUENTIAL);
      const refused = await adapter.forceRelease(withFence(empty), "prune-empty", signal);
      expect(refused.status).toBe("changed");
      await zk.raw.remove(node, 0);
      const again = await lockAt(adapter, "/live/job");
      expect(await adapter.forceRelease(withFence(again), "prune-empty", signal)).toEqual({ status: "released", detail: "deleted empty /live/job" });
      expect(await zk.raw.exists("/live/job")).toBeNull();
      expect(await zk.raw.exists("/live")).not.toBeNull(); // never the root path
    } finally {
      feed.abort();
      await done;
    }
  });
});

describe("releases aimed at what was seen, and nothing else", () => {
  const kazooNode = (dir: string, uuid: string) => `${dir}/${uuid.repeat(32 / uuid.length)}__lock__`;

  it("prune-empty deletes the node seen and no parent above it (one holds data), and not a directory used again since the look", async () => {
    await zk.raw.create("/pr", Buffer.alloc(0), CreateMode.PERSISTENT);
    await zk.raw.create("/pr/app1", Buffer.from("service config, not a lock"), CreateMode.PERSISTENT);
    for (const dir of ["/pr/app1/job", "/pr/cv"]) {
      await zk.raw.create(dir, Buffer.alloc(0), CreateMode.PERSISTENT);
      await zk.raw.remove(await zk.raw.create(kazooNode(dir, "a"), Buffer.from("x"), CreateMode.EPHEMERAL_SEQUENTIAL), 0);
    }
    const adapter = zk.adapter({ roots: ["/pr"] });
    const job = await lockAt(adapter, "/pr/app1/job");
    expect([job.format, job.state]).toEqual(["zk.empty-parent", "free"]);
    expect(adapter.describeRelease(withFence(job), "prune-empty").deletes).toMatch(/^EMPTY ZNODE \/pr\/app1\/job only, .*no other node, its parents included$/);
    expect(await adapter.forceRelease(withFence(job), "prune-empty", signal)).toEqual({ status: "released", detail: "deleted empty /pr/app1/job" });
    expect((await zk.raw.getData("/pr/app1")).data.toString()).toBe("service config, not a lock");

    // A contender came and went after the look: the directory is in use, nothing is deleted.
    const cv = await lockAt(adapter, "/pr/cv");
    await zk.raw.remove(await zk.raw.create(kazooNode("/pr/cv", "b"), Buffer.from("y"), CreateMode.EPHEMERAL_SEQUENTIAL), 0);
    expect((await adapter.forceRelease(withFence(cv), "prune-empty", signal)).status).toBe("changed");
    expect(await zk.raw.exists("/pr/cv")).not.toBeNull();
  });

  it("a stale fence after the next contender took the lock: changed, with who holds it now, not 'already released'", async () => {
    await zk.raw.create("/f8", Buffer.alloc(0), CreateMode.PERSISTENT);
    await zk.raw.create("/f8/job", Buffer.alloc(0), CreateMode.PERSISTENT);
    const first = await zk.raw.create(kazooNode("/f8/job", "c"), Buffer.from("client-a"), CreateMode.EPHEMERAL_SEQUENTIAL);
    await zk.raw.create(kazooNode("/f8/job", "d"), Buffer.from("client-b"), CreateMode.EPHEMERAL_SEQUENTIAL);
    const adapter = zk.adapter({ roots: ["/f8"] });
    const seen = await lockAt(adapter, "/f8/job");
    expect(seen.holders[0].owner).toBe("client-a");
    await zk.raw.remove(first, 0); // client-a lets go; client-b holds it now
    const out = await adapter.forceRelease(withFence(seen), "delete", signal);
    expect(out.status).toBe("changed");
    expect((out as { current: LockRecord | null }).current?.holders[0].owner).toBe("client-b");
    expect((await zk.raw.getChildren("/f8/job")).children).toHaveLength(1);
  });
});

async function waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const { waitFor } = await import("../../../scripts/servers/process");
  await waitFor(async () => check(), { timeoutMs, what });
}
