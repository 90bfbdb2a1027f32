// The walk (discover.ts) against a real ZooKeeper, on a session whose reads, multiReads and
// watch armings are counted as they are sent and answered: every node read once, never more than
// WALK_IN_FLIGHT requests out, each lock dir decoded as its children arrive, the watches armed
// after the reads without missing a change in between; the node budget (maxNodes) and an abort
// stop it at once, with nothing more sent.

import { beforeAll, describe, expect, it } from "vitest";
import { CreateMode, ZkSession } from "./client";
import { MULTI_READ_IN_FLIGHT, MULTI_READ_OPS, WALK_IN_FLIGHT, Walker, type DiscoverLimits } from "./discover";
import { WatchSet } from "./watch";
import { ensurePath, zookeeperFixture } from "../../../test/support/zookeeper";
import { waitFor } from "../../../scripts/servers/process";
import type { ZkDecodeContext } from "../../formats/zookeeper";

const zk = zookeeperFixture();

const ROOT = "/walk";
const DIRS = 40;
const PER_DIR = 50;
/** The root, its lock dirs and their contenders. */
const NODES = 1 + DIRS + DIRS * PER_DIR;
/** getData + getChildren of the root and of each dir, and one getData per contender. */
const REQUESTS = 2 + 2 * DIRS + DIRS * PER_DIR;

const LIMITS: DiscoverLimits = { maxChildren: 10_000, maxDepth: 6, maxNodes: 200_000 };

const ctx: ZkDecodeContext = {
  connection: "zk",
  consistency: "sync",
  now: Date.now(),
  observedAtIso: new Date().toISOString(),
  previews: false,
  roots: [ROOT],
};

/** Every node the walk read: its node list, and the children of the dirs it decoded on the way. */
function nodesRead(w: Walker) {
  return [...w.out.nodes, ...[...w.out.decoded.values()].flatMap((d) => d.kids)];
}

/**
 * A real session whose getData / getChildren are counted (sent, out now, most out at once), and
 * its multiReads (sent, the reads in them, most out at once).
 */
function countedSession(onSend?: (sent: number) => void) {
  const session = new ZkSession({ connectString: zk.server.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
  const n = { sent: 0, out: 0, peak: 0, multis: 0, multiOps: 0, multisOut: 0, multiPeak: 0, armings: 0, armed: 0 };
  const count =
    <A extends unknown[], R>(read: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> => {
      n.sent++;
      n.peak = Math.max(n.peak, ++n.out);
      const answer = read(...a);
      onSend?.(n.sent);
      return answer.finally(() => n.out--);
    };
  session.getData = count(session.getData.bind(session));
  session.getChildren = count(session.getChildren.bind(session));
  const armWatches = session.armWatches.bind(session);
  session.armWatches = (zxid, watches) => {
    n.armings++;
    n.armed += watches.length;
    return armWatches(zxid, watches);
  };
  const multiRead = session.multiRead.bind(session);
  session.multiRead = (ops) => {
    n.multis++;
    n.multiOps += ops.length;
    n.multiPeak = Math.max(n.multiPeak, ++n.multisOut);
    return multiRead(ops).finally(() => n.multisOut--);
  };
  return { session, n };
}

beforeAll(async () => {
  await ensurePath(zk.raw, ROOT);
  await zk.raw.createAll(Array.from({ length: DIRS }, (_, d) => ({ path: `${ROOT}/job-${d}`, mode: CreateMode.PERSISTENT })));
  for (let d = 0; d < DIRS; d++) {
    await zk.raw.createAll(
      Array.from({ length: PER_DIR }, (_, i) => ({
        path: `${ROOT}/job-${d}/_c_6c2e4b7d-0000-4000-8000-${String(d * PER_DIR + i).padStart(12, "0")}-lock-`,
        data: Buffer.from("10.1.2.3"),
        mode: CreateMode.EPHEMERAL_SEQUENTIAL,
      })),
    );
  }
}, 60_000);

describe("the walk", () => {
  it(`reads every node once with at most ${WALK_IN_FLIGHT} requests out, and decodes each lock dir as its children arrive`, async () => {
    const { session, n } = countedSession();
    try {
      const w = new Walker(session, LIMITS, null, new AbortController().signal, ctx);
      expect(await w.visit(ROOT, 0)).toBe(true);
      expect(nodesRead(w)).toHaveLength(NODES);
      expect(new Set(nodesRead(w).map((x) => x.path)).size).toBe(NODES);
      // The decoded dirs' children stay out of the node list.
      expect(w.out.nodes).toHaveLength(1 + DIRS);
      expect(n.sent).toBe(REQUESTS);
      expect(n.peak).toBe(WALK_IN_FLIGHT);
      expect(n.out).toBe(0);
      expect(w.out.decoded.size).toBe(DIRS);
      expect([...w.out.decoded.values()].every((d) => d.record.waiters.length === PER_DIR - 1)).toBe(true);
      expect(w.out.problems).toEqual([]);
      expect(await w.visit(`${ROOT}/nothing-here`, 0)).toBe(false);
    } finally {
      session.close();
    }
  });

  it(`with multiRead: every read but the first in multiReads of ${MULTI_READ_OPS}, at most ${MULTI_READ_IN_FLIGHT} out; the watches armed after them`, async () => {
    const plain = countedSession();
    const { session, n } = countedSession();
    try {
      const alone = new Walker(plain.session, LIMITS, null, new AbortController().signal, ctx);
      await alone.visit(ROOT, 0);
      const same = (w: Walker) => {
        expect(
          nodesRead(w)
            .map((x) => [x.path, x.data, x.stat])
            .sort(),
        ).toEqual(
          nodesRead(alone)
            .map((x) => [x.path, x.data, x.stat])
            .sort(),
        );
        expect(w.out.decoded).toEqual(alone.out.decoded);
        expect(w.out.dirs).toEqual(alone.out.dirs);
      };
      const watches = new WatchSet((path) => path);
      const walk = async (arming: WatchSet | null) => {
        const w = new Walker(session, LIMITS, arming, new AbortController().signal, ctx, true);
        expect(await w.visit(ROOT, 0)).toBe(true);
        same(w);
        const counts = { ...n };
        Object.assign(n, { sent: 0, multis: 0, multiOps: 0, multiPeak: 0, armings: 0, armed: 0 });
        return counts;
      };
      // No watch armed yet: the reads go batched all the same (only the starting read alone), and
      // every listing's and lock node's watch is armed once they are in, in one armWatches.
      let c = await walk(watches);
      expect([c.sent, c.multiOps]).toEqual([1, REQUESTS - 1]);
      expect([c.armings, c.armed]).toEqual([1, 1 + DIRS + DIRS * PER_DIR]);
      expect(watches.armedCount).toBe(1 + DIRS + DIRS * PER_DIR);
      // Every watch armed: the same reads, nothing to arm.
      c = await walk(watches);
      expect([c.sent, c.multiOps, c.armings]).toEqual([1, REQUESTS - 1, 0]);
      expect(c.multis).toBeGreaterThanOrEqual(Math.ceil((REQUESTS - 1) / MULTI_READ_OPS));
      expect(c.multiPeak).toBe(MULTI_READ_IN_FLIGHT);
      // Watches off: the same reads, nothing armed.
      c = await walk(null);
      expect([c.sent, c.multiOps, c.armings]).toEqual([1, REQUESTS - 1, 0]);
      expect(n.out + n.multisOut).toBe(0);
    } finally {
      plain.session.close();
      session.close();
    }
  });

  it("a change after a node is read and before the walk arms its watch is told", async () => {
    const { session } = countedSession();
    // The first lock node read in a multiRead changes right after that read is answered, and the
    // session then sees a zxid past the change before the walk arms its watches.
    let target = "";
    const multiRead = session.multiRead.bind(session);
    session.multiRead = async (ops) => {
      const answers = await multiRead(ops);
      const lockNode = ops.find((o) => o.kind === "data" && o.path.split("/").length === 4);
      if (!target && lockNode) {
        target = lockNode.path;
        const { stat } = await zk.raw.getData(target);
        await zk.raw.setData(target, Buffer.from("10.9.9.9"), stat.version);
        // Another read on this session sees a zxid past the change, as the rest of a walk does.
        await session.getData(ROOT);
      }
      return answers;
    };
    const watches = new WatchSet((path) => path);
    const ctl = new AbortController();
    try {
      const w = new Walker(session, LIMITS, watches, ctl.signal, ctx, true);
      await w.visit(ROOT, 0);
      const read = [...w.out.decoded.values()].flatMap((d) => d.kids).find((k) => k.path === target);
      expect(read?.data?.toString()).toBe("10.1.2.3");
      const feed = watches.feed(ctl.signal);
      const first = await Promise.race([feed.next(), new Promise((r) => setTimeout(() => r("nothing within 10 s"), 10_000))]);
      expect(first).toEqual({ done: false, value: { keys: [target] } });
    } finally {
      ctl.abort();
      session.close();
    }
  });

  it("stops at maxNodes: exactly that many nodes, the problem said once, nothing more sent", async () => {
    const { session, n } = countedSession();
    try {
      const w = new Walker(session, { ...LIMITS, maxNodes: 500 }, null, new AbortController().signal, ctx);
      expect(await w.visit(ROOT, 0)).toBe(true);
      expect(nodesRead(w)).toHaveLength(500);
      expect(w.out.problems.map((p) => p.code)).toEqual(["too-many-nodes"]);
      // Every node counted was read once; the dirs among them were listed too.
      expect(n.sent).toBe(500 + w.out.dirs.size);
      expect(n.out).toBe(0);
    } finally {
      session.close();
    }
  });

  it("an abort fails the walk at once: nothing more is sent, and what was out is left to answer", async () => {
    const ctl = new AbortController();
    const { session, n } = countedSession((sent) => sent === 300 && ctl.abort(new Error("the operator left")));
    try {
      const w = new Walker(session, LIMITS, null, ctl.signal, ctx);
      await expect(w.visit(ROOT, 0)).rejects.toThrow("the operator left");
      expect(n.sent).toBe(300);
      await waitFor(async () => n.out === 0, { timeoutMs: 10_000, what: "the requests out at the abort answered" });
      expect(n.sent).toBe(300);
      await expect(w.visit(ROOT, 0)).rejects.toThrow("the operator left");
      expect(n.sent).toBe(300);
    } finally {
      session.close();
    }
  });
});
