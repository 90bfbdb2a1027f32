// Against a real ZooKeeper 3.5 (the last release without multiRead, its jars from Maven Central
// run through Debian's zkServer.sh): `srvr` names the version, so the adapter reads one node
// per request and never sends a multiRead (counted on the wire); a multiRead sent anyway is
// answered UNIMPLEMENTED, the session marks it refused, and reconnects and reads on.

import { beforeAll, describe, expect, it } from "vitest";
import { CreateMode, ZK, ZkError, ZkSession } from "./client";
import { ensurePath, signal, zookeeperFixture } from "../../../test/support/zookeeper";
import { fourLetterWord, legacyZooKeeperJars, type ZooKeeperOptions } from "../../../scripts/servers/zookeeper";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";
import { tapZooKeeper } from "../../../test/support/zookeeper-wire";
import { waitFor } from "../../../scripts/servers/process";

const opts: ZooKeeperOptions = {};
beforeAll(async () => {
  opts.jars = await legacyZooKeeperJars();
}, 300_000);
const zk = zookeeperFixture(opts);

const ROOT = "/locks/legacy";
const DIRS = 20;
const PER_DIR = 3;

beforeAll(async () => {
  await ensurePath(zk.raw, ROOT);
  for (let d = 0; d < DIRS; d++) {
    await zk.raw.createAll([
      { path: `${ROOT}/job-${d}`, mode: CreateMode.PERSISTENT },
      ...Array.from({ length: PER_DIR }, (_, i) => ({
        path: `${ROOT}/job-${d}/_c_6c2e4b7d-0000-4000-8000-${String(d * PER_DIR + i).padStart(12, "0")}-lock-`,
        data: Buffer.from("10.1.2.3"),
        mode: CreateMode.EPHEMERAL_SEQUENTIAL,
      })),
    ]);
  }
}, 60_000);

describe("ZooKeeper 3.5 (no multiRead)", () => {
  it("the server is 3.5; the adapter reads one node per request, the same locks every time, and sends no multiRead", async () => {
    expect(await fourLetterWord(zk.server.port, "srvr")).toMatch(/^Zookeeper version: 3\.5\.10-/);
    const proxy = await startFaultProxy(zk.server.port);
    const wire = tapZooKeeper(proxy);
    try {
      const a = zk.adapter({ connectString: proxy.address, roots: [ROOT] });
      const first = await a.snapshot(signal);
      const sent = wire.requests.length;
      const again = await a.snapshot(signal);
      expect(first.locks).toHaveLength(DIRS);
      expect(first.locks.every((l) => l.holders.length === 1 && l.waiters.length === PER_DIR - 1)).toBe(true);
      expect(again.locks.map((l) => [l.key, l.holders, l.waiters])).toEqual(first.locks.map((l) => [l.key, l.holders, l.waiters]));
      const ops = wire.requests.map((r) => r.op);
      expect(ops).not.toContain("multiRead");
      // The re-walk, every watch armed: sync, then getData + getChildren of the root and of each
      // dir, and a getData per contender.
      expect(wire.requests.slice(sent).filter((r) => r.op !== "ping")).toHaveLength(1 + 2 + DIRS * (2 + PER_DIR));
    } finally {
      await proxy.close();
    }
  });

  it("a multiRead sent anyway is refused: UNIMPLEMENTED, marked on the session, which reconnects and reads on", async () => {
    const s = new ZkSession({ connectString: zk.server.address, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
    try {
      await s.connected();
      const id = s.sessionId;
      const err = await s.multiRead([{ kind: "data", path: `${ROOT}/job-0` }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZkError);
      expect((err as ZkError).code).toBe(ZK.UNIMPLEMENTED);
      expect(s.multiReadRefused).toBe(true);
      await waitFor(
        async () =>
          s.state === "connected" &&
          (await s.getData(`${ROOT}/job-0`).then(
            () => true,
            () => false,
          )),
        {
          timeoutMs: 15_000,
          what: "the session reading again",
        },
      );
      expect(s.sessionId).toBe(id);
    } finally {
      s.close();
    }
  });
});
