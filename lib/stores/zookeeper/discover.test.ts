// The walk (discover.ts) against a real ZooKeeper, on a session whose two reads are counted as
// they are sent and answered: every node read once, never more than WALK_IN_FLIGHT requests out,
// each lock dir decoded as its children arrive; the node budget (maxNodes) and an abort stop it
// at once, with nothing more sent.

import { beforeAll, describe, expect, it } from "vitest";
import { CreateMode, ZkSession } from "./client";
import { WALK_IN_FLIGHT, Walker, type DiscoverLimits } from "./discover";
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

/** A real session whose getData / getChildren are counted: sent, out now, most out at once. */
function countedSession(onSend?: (sent: number) => void) {
  const session = new ZkSession({ connectString: zk.server.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
  const n = { sent: 0, out: 0, peak: 0 };
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
      expect(w.out.nodes).toHaveLength(NODES);
      expect(new Set(w.out.nodes.map((x) => x.path)).size).toBe(NODES);
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

  it("stops at maxNodes: exactly that many nodes, the problem said once, nothing more sent", async () => {
    const { session, n } = countedSession();
    try {
      const w = new Walker(session, { ...LIMITS, maxNodes: 500 }, null, new AbortController().signal, ctx);
      expect(await w.visit(ROOT, 0)).toBe(true);
      expect(w.out.nodes).toHaveLength(500);
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
