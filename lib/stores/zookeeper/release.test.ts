import { describe, expect, it } from "vitest";
import { encodeFence } from "../../fence";
import type { LockView } from "../../model";
import { describe as plan, modesFor, targetOf, zkCliCommands } from "./release";

function lock(h: Record<string, string | number | null>, extra: Partial<LockView> = {}): LockView {
  return {
    connection: "zk",
    key: "/locks/job",
    name: "/locks/job",
    format: "curator.rwlock",
    kind: "rwlock",
    state: "held",
    holders: [
      { id: "a", session: { id: "0x1" } },
      { id: "b", session: { id: "0x2" } },
    ],
    waiters: [{ id: "c", position: 1 }],
    ttlMs: null,
    ttlSource: "zk-session",
    fence: encodeFence("zk", "/locks/job", "curator.rwlock", h),
    observedAt: "2026-01-01T00:00:00.000Z",
    consistency: "sync() then read",
    warnings: [],
    ...extra,
  };
}
const ctx = { connectString: "zk1:2181,zk2:2181/app", readOnly: false, consistency: "sync() then read" };

describe("ZooKeeper release plans", () => {
  const two = {
    t: "zk",
    nodes: JSON.stringify([
      ["/locks/job/a", 3, "17"],
      ["/locks/job/b", 0, "18"],
    ]),
    revoke: null,
  };

  it("several holders: one atomic multi, each node with its version; zkCli lines per node", () => {
    const l = lock(two);
    const p = plan(l, targetOf(two), "delete", ctx);
    expect(p.modes).toEqual(["delete"]);
    expect(p.deletes).toBe(
      "ZNODE /locks/job/a while its version is still 3 (czxid 17); ZNODE /locks/job/b while its version is still 0 (czxid 18) — 2 holder nodes in one multi(): all or none",
    );
    expect(p.command).toBe(
      "# zkCli has no multi(): LockDeck sends these as one atomic multi\nzkCli.sh -server zk1:2181,zk2:2181/app delete -v 3 /locks/job/a\nzkCli.sh -server zk1:2181,zk2:2181/app delete -v 0 /locks/job/b",
    );
    expect(p.notes[0]).toBe(
      "The holder's ZooKeeper session 0x1, 0x2 is still alive (its ephemeral node was there when read) and is NOT told: the recipe gives it no signal that its node is gone, so it may keep working until it next checks.",
    );
    expect(p.wakes).toMatch(/^the next contender c:/);
    expect(p.holderNotified).toBe(false);
  });

  it("a semaphore's waiting contender watches the leases, not a node ahead of it", () => {
    const one = { t: "zk", nodes: JSON.stringify([["/locks/sem/leases/a", 0, "17"]]), revoke: null };
    const p = plan(lock(one, { format: "curator.semaphore", kind: "semaphore" }), targetOf(one), "delete", ctx);
    expect(p.wakes).toBe("the waiting contender c: it watches the semaphore's leases and takes one itself once there is room");
  });

  it("a lone ephemeral at a fixed path: the plan says the czxid is compared just before, not by the delete", () => {
    const one = { t: "zk", nodes: JSON.stringify([["/locks/job", 0, "42"]]), revoke: null };
    const p = plan(lock(one, { format: "zk.ephemeral" }), targetOf(one), "delete", ctx);
    expect(p.notes.join(" ")).toMatch(/conditional on the version only: LockDeck compares the czxid just before/);
    expect(plan(lock(two), targetOf(two), "delete", ctx).notes.join(" ")).not.toMatch(/compares the czxid just before/);
  });

  it("read-only connections offer nothing; unknown layouts offer nothing and say why", () => {
    expect(modesFor(targetOf(two), true)).toEqual([]);
    const none = { t: "none" };
    const p = plan(lock(none, { state: "unknown" }), targetOf(none), "delete", ctx);
    expect(p.modes).toEqual([]);
    expect(p.notes[0]).toMatch(/do not parse/);
  });

  it("paths that need quoting are quoted for the shell", () => {
    const h = { t: "zk", nodes: JSON.stringify([["/locks/it's here/n", 0, "1"]]), revoke: null };
    expect(zkCliCommands("h:1", targetOf(h), "delete")).toBe("zkCli.sh -server h:1 delete -v 0 '/locks/it'\\''s here/n'");
  });
});
