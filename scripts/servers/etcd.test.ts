// Exercises the real-etcd helpers against Debian's etcd 3.4: one member, TLS, a 3-member
// cluster on loopback with a paused minority, and the TCP proxy.
//
// Partitions pause the other members (SIGSTOP) instead of killing them: to the remaining
// member (and to clients) a paused peer looks like a partition (open sockets, no answers, no
// RST), and SIGCONT heals it at once, with no restart or rejoin to wait for.
import { afterAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import { requireBinary } from "./binaries";
import { isPortFree } from "./ports";
import { waitFor } from "./process";
import { ETCD_HINT, etcdctl, healthy, memberStatus, startEtcd, startEtcdCluster } from "./etcd";
import { startFaultProxy } from "./fault-proxy";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

describe("etcd binaries", () => {
  it("resolves etcd and etcdctl", () => {
    expect(requireBinary("etcd", ETCD_HINT)).toMatch(/\/etcd$/);
    expect(requireBinary("etcdctl", "hint")).toMatch(/\/etcdctl$/);
  });
  it("fails with the install hint when missing", () => {
    expect(() => requireBinary("etcd-not-installed-here", ETCD_HINT)).toThrow(
      /etcd-not-installed-here not found: install it with `apt-get install -y etcd-server`/,
    );
  });
});

describe("single member", () => {
  it("starts on free ports, keeps data across kill9 + restart, and stop() frees everything", async () => {
    const s = await startEtcd();
    cleanups.push(() => s.stop());
    expect(s.clientPort).not.toBe(2379);
    expect(s.endpoint).toBe(`http://127.0.0.1:${s.clientPort}`);
    await etcdctl(s.endpoint, ["put", "k", "v"]);
    expect(await etcdctl(s.endpoint, ["get", "k", "--print-value-only"])).toBe("v\n");
    await s.kill9();
    expect(await healthy(s.endpoint)).toBe(false);
    await s.restart();
    expect(await etcdctl(s.endpoint, ["get", "k", "--print-value-only"])).toBe("v\n");
    await s.stop();
    expect(await isPortFree(s.clientPort)).toBe(true);
    expect(await isPortFree(s.peerPort)).toBe(true);
    expect(fs.existsSync(s.dir)).toBe(false);
    await s.stop(); // idempotent
  });

  it("serves clients over TLS with its own CA", async () => {
    const s = await startEtcd({ tls: true });
    cleanups.push(() => s.stop());
    expect(s.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await etcdctl(s.endpoint, ["put", "t", "1"], { tls: s.tls });
    expect(await etcdctl(s.endpoint, ["get", "t", "--print-value-only"], { tls: s.tls })).toBe("1\n");
    // Without the CA the server certificate is not trusted.
    await expect(etcdctl(s.endpoint, ["get", "t", "--dial-timeout=1s", "--command-timeout=1s"])).rejects.toThrow();
    await s.stop();
  });
});

describe("three members on loopback", () => {
  it("elects a leader; a member cut off from both peers cannot serve linearizable reads but still serves serializable ones", { timeout: 90_000 }, async () => {
    const c = await startEtcdCluster(3);
    cleanups.push(() => c.stop());
    const leader = await c.leader();
    const statuses = await Promise.all(c.members.map((m) => memberStatus(m)));
    expect(new Set(statuses.map((s) => s.leader)).size).toBe(1);
    expect(statuses.find((s) => s.memberId === s.leader)).toBeTruthy();

    await etcdctl(c.endpoints, ["put", "before", "1"]);
    const lonely = c.members.find((m) => m !== leader)!;
    const others = c.members.filter((m) => m !== lonely);
    for (const m of others) m.pause();
    try {
      // Within a few election timeouts (500 ms) the lonely member knows no leader.
      await waitFor(async () => (await memberStatus(lonely)).leader === "0", {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: "the cut-off member to drop its leader",
      });
      await expect(etcdctl(lonely.endpoint, ["get", "before", "--command-timeout=1s"])).rejects.toThrow();
      expect(await etcdctl(lonely.endpoint, ["get", "before", "--consistency=s", "--print-value-only"])).toBe("1\n");
    } finally {
      for (const m of others) m.resume();
    }
    await waitFor(async () => (await etcdctl(lonely.endpoint, ["get", "before", "--command-timeout=1s", "--print-value-only"]).catch(() => "")) === "1\n", {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: "linearizable reads on the healed member",
    });
    await c.stop();
    for (const m of c.members) expect(fs.existsSync(m.dir)).toBe(false);
  });
});

describe("TCP proxy", () => {
  it("forwards to etcd, cuts every connection on demand, and restores", async () => {
    const s = await startEtcd();
    cleanups.push(() => s.stop());
    const p = await startFaultProxy(s.clientPort);
    cleanups.push(() => p.close());
    expect(await healthy(p.endpoint)).toBe(true);
    p.cut();
    expect(await healthy(p.endpoint)).toBe(false);
    p.restore();
    expect(await healthy(p.endpoint)).toBe(true);
    await p.close();
    await s.stop();
  });
});
