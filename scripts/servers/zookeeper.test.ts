// Exercises the ZooKeeper server helpers against Debian's ZooKeeper 3.8.
import { afterAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import { isPortFree } from "./ports";
import { waitFor } from "./process";
import { fourLetterWord, serverMode, startZooKeeper, startZooKeeperEnsemble, zkServerScript } from "./zookeeper";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe("zookeeper servers", () => {
  it("finds Debian's zkServer.sh", () => {
    expect(zkServerScript()).toMatch(/zkServer\.sh$/);
  });

  it("starts standalone on a free loopback port; kill9 + restart on the same port; stop frees it", async () => {
    const zk = await startZooKeeper();
    cleanups.push(() => zk.stop());
    expect(zk.port).not.toBe(2181);
    expect(zk.address).toBe(`127.0.0.1:${zk.port}`);
    expect(await serverMode(zk.port)).toBe("standalone");
    expect(await fourLetterWord(zk.port, "ruok")).toBe("imok");
    // The AdminServer is off and the config is ours, not /etc/zookeeper/conf/zoo.cfg.
    expect(fs.readFileSync(`${zk.dir}/zoo.cfg`, "utf8")).toMatch(/admin\.enableServer=false/);
    expect(fs.readFileSync(zk.logFile, "utf8")).toContain(`${zk.dir}/zoo.cfg`);

    await zk.kill9();
    await expect(fourLetterWord(zk.port, "srvr", undefined, 500)).rejects.toThrow();
    await zk.restart();
    expect(await serverMode(zk.port)).toBe("standalone");
    await zk.stop();
    expect(fs.existsSync(zk.dir)).toBe(false);
    await waitFor(() => isPortFree(zk.port), { timeoutMs: 5_000, what: "port freed" });
  });

  it("fails loudly with the log tail when the config is bad", async () => {
    await expect(startZooKeeper({ config: { tickTime: "not-a-number" } })).rejects.toThrow(/exited with code \d+ before ready[\s\S]*tickTime|not-a-number/i);
  });

  it("starts a 3-node ensemble with exactly one leader", async () => {
    const ens = await startZooKeeperEnsemble(3);
    cleanups.push(() => ens.stop());
    const modes = await Promise.all(ens.servers.map((s) => serverMode(s.port)));
    expect(modes.sort()).toEqual(["follower", "follower", "leader"]);
    expect(ens.connectString.split(",")).toHaveLength(3);
    await ens.stop();
  });
});
