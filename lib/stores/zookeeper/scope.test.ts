// Scope on ZooKeeper, against a real ZooKeeper 3.8: every node a release names must lie inside
// the lock's directory under a root, paths ZooKeeper forbids are refused with the reason, and a
// read by key outside the roots reaches nothing. Fences are signed with this process's key, as
// if a decoder had a bug; the server is checked with a raw session.

import { describe, expect, it } from "vitest";
import { CreateMode } from "./client";
import { ensurePath, signal, zookeeperFixture } from "../../../test/support/zookeeper";
import { zkKeyProblem, zkPathProblem } from "./scope";
import { aimedView } from "../../../test/support/aimed";

const zk = zookeeperFixture();

const ensure = (path: string) => ensurePath(zk.raw, path);

const aimed = (key: string, h: Record<string, string | number | null>) => aimedView("zk", key, "zk.recipe", h, "zk-session");

describe("ZooKeeper scope", () => {
  it("paths ZooKeeper forbids, and paths outside the roots, are named as such", () => {
    expect(zkPathProblem("/locks/a/../b")).toMatch(/"\.\." segment/);
    expect(zkPathProblem("/locks/./b")).toMatch(/"\." segment/);
    expect(zkPathProblem("/locks/a\u0000b")).toMatch(/forbids/);
    expect(zkPathProblem("/locks//b")).toMatch(/empty segment/);
    expect(zkKeyProblem(["/locks"], "/locks/../config/db")).toMatchObject({ code: "bad_key", message: expect.stringMatching(/^key: /) });
    expect(zkKeyProblem(["/locks"], "/config/db")).toMatchObject({ code: "out_of_scope" });
    expect(zkKeyProblem(["/locks"], "/locks")).toMatchObject({ code: "out_of_scope" }); // a root is never a lock
    expect(zkKeyProblem(["/locks"], "/locksmith/x")).toMatchObject({ code: "out_of_scope" });
    expect(zkKeyProblem(["/locks"], "/locks/job")).toBeNull();
  });

  it("a fence naming a node outside the lock's directory deletes nothing", async () => {
    await ensure("/config/db");
    await ensure("/locks/job");
    const holder = await zk.raw.create("/locks/job/lock-", Buffer.alloc(0), CreateMode.EPHEMERAL_SEQUENTIAL);
    const adapter = zk.adapter();
    const outside = aimed("/locks/job", { t: "zk", nodes: JSON.stringify([["/config/db", 0, "1"]]), revoke: null });
    expect(await adapter.forceRelease(outside, "delete", signal)).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/node "\/config\/db" is not inside the lock \/locks\/job/),
    });
    const sneaky = aimed("/locks/job", { t: "zk", nodes: JSON.stringify([["/locks/job/../../config/db", 0, "1"]]), revoke: null });
    expect(await adapter.forceRelease(sneaky, "delete", signal)).toMatchObject({ status: "refused", reason: expect.stringMatching(/"\.\." segment/) });
    const revoke = aimed("/locks/job", { t: "zk", nodes: JSON.stringify([[holder, 0, "1"]]), revoke: JSON.stringify(["/config/db", 0]) });
    expect(await adapter.forceRelease(revoke, "ask-holder", signal)).toMatchObject({ status: "refused" });
    const rootLock = aimed("/config", { t: "zk-empty", p: "/config", v: 0, cv: 1 });
    expect(await adapter.forceRelease(rootLock, "prune-empty", signal)).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/not under this connection's roots/),
    });
    expect(await zk.raw.exists("/config/db")).not.toBeNull();
    expect((await zk.raw.getData("/config/db")).data.toString()).toBe("");
    expect(await zk.raw.exists(holder)).not.toBeNull();
  });

  it("a read by key outside the roots, or with a path ZooKeeper forbids, reads nothing", async () => {
    await ensure("/config/db");
    const adapter = zk.adapter();
    const { locks, problems } = await adapter.reread(["/config/db", "/locks/../config/db", "/config"], signal);
    expect(locks).toEqual([]);
    expect(problems).toEqual([]);
  });
});
