import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeLockDirAlone, decodeZooKeeper, type DecodedLockDir, type ZkDecodeContext } from "./index";
import { loadFixture } from "../../../test/support/fixtures/zookeeper";
import { decodeFence, fenceOf } from "../../fence";
import { baseName, parentOf, type ZkNode, type ZkStat } from "./entry";
import { targetOf } from "../../stores/zookeeper/release";

function decode(name: string) {
  const { fixture, nodes } = loadFixture(name);
  const res = decodeZooKeeper(nodes, { connection: "zk", consistency: "sync() then read", now: fixture.now, roots: [fixture.root] });
  const at = (p: string) => res.locks.find((l) => l.key === `${fixture.root}/${p}`)!;
  return { ...res, at, fixture, nodes };
}

const names = (xs: Array<{ id: string }>) => xs.map((x) => x.id);
const seqOf = (id: string) => Number(/(\d{10})$/.exec(id)?.[1]);

describe("Apache Curator 5.9 layouts captured from the real library", () => {
  it("InterProcessMutex: lowest sequence holds, the rest wait in sequence order; IP as owner; czxid as token", () => {
    const { at, nodes, problems } = decode("curator-all.json");
    expect(problems).toEqual([]);
    const l = at("mutex");
    expect(l.format).toBe("curator.mutex");
    expect(l.kind).toBe("mutex");
    expect(l.state).toBe("held");
    expect(l.holders).toHaveLength(1);
    expect(seqOf(l.holders[0].id)).toBe(0);
    expect(l.waiters.map((w) => seqOf(w.id))).toEqual([1, 2]);
    expect(l.waiters.map((w) => w.position)).toEqual([1, 2]);
    expect(l.holders[0].owner).toBe("127.0.0.1");
    expect(l.holders[0].ownerNote).toBe("client address or id");
    const holderNode = nodes.find((n) => n.path.endsWith(l.holders[0].id))!;
    expect(l.holders[0].session?.id).toBe(holderNode.stat.ephemeralOwner);
    expect(l.holders[0].since).toBe(new Date(holderNode.stat.ctime).toISOString());
    expect(l.fencingToken).toBe(holderNode.stat.czxid);
    expect(l.ttlSource).toBe("zk-session");
    expect(l.warnings).toEqual([]);
    const t = targetOf(decodeFence(fenceOf(l)).h);
    expect(t).toEqual({ t: "delete", nodes: [{ path: holderNode.path, version: 0, czxid: holderNode.stat.czxid }], revoke: null });
  });

  it("a revocable mutex (empty node data) offers Curator's revoke marker", () => {
    const l = decode("curator-all.json").at("mutex-revocable");
    expect(l.format).toBe("curator.mutex");
    expect(l.warnings).toContain("revocable");
    const t = targetOf(decodeFence(fenceOf(l)).h);
    expect(t.t === "delete" && t.revoke?.path).toBe(`/capture/curator/mutex-revocable/${l.holders[0].id}`);
  });

  it("LeaderSelector looks like a mutex; its node data is the participant id", () => {
    const l = decode("curator-all.json").at("selector");
    expect(l.format).toBe("curator.mutex");
    expect(l.library).toMatch(/LeaderSelector/);
    expect(l.holders[0].owner).toBe("selector-0");
    expect(l.waiters[0].owner).toBe("selector-1");
  });

  it("InterProcessReadWriteLock: readers ahead of the first writer hold; a writer holds only at the head", () => {
    const { at } = decode("curator-all.json");
    const read = at("rwlock-read");
    expect(read.format).toBe("curator.rwlock");
    expect(read.kind).toBe("rwlock");
    expect(names(read.holders).every((id) => id.includes("__READ__"))).toBe(true);
    expect(read.holders.map((h) => seqOf(h.id))).toEqual([0, 1]);
    expect(names(read.waiters).map((id) => id.includes("__WRIT__"))).toEqual([true]);
    expect(read.fencingToken).toBeUndefined(); // several holders: no single token
    expect(JSON.parse(decodeFence(fenceOf(read)).h.nodes as string)).toHaveLength(2);
    const write = at("rwlock-write");
    expect(write.holders.map((h) => [seqOf(h.id), h.id.includes("__WRIT__")])).toEqual([[0, true]]);
    expect(write.waiters.map((w) => seqOf(w.id))).toEqual([1, 2]);
  });

  it("InterProcessSemaphoreV2: leases hold, except the lease of the client holding locks/ (it waits)", () => {
    const { at, nodes } = decode("curator-all.json");
    const l = at("semaphore");
    expect(l.format).toBe("curator.semaphore");
    expect(l.kind).toBe("semaphore");
    expect(l.holders.map((h) => seqOf(h.id))).toEqual([0, 1]);
    const locksHead = nodes.find((n) => n.path.includes("/semaphore/locks/_c_"))!;
    expect(l.waiters).toHaveLength(1);
    expect(l.waiters[0].id).toMatch(/-lease-0000000002$/);
    const pendingLease = nodes.find((n) => n.path.endsWith(l.waiters[0].id))!;
    expect(pendingLease.stat.ephemeralOwner).toBe(locksHead.stat.ephemeralOwner);
    expect(l.relatedKeys).toEqual(["/capture/curator/semaphore/leases", "/capture/curator/semaphore/locks"]);
    expect(l.warnings).toContain("max-leases-unknown");
  });

  it("LeaderLatch: the lowest -latch- node leads; participants follow in order with their ids", () => {
    const l = decode("curator-all.json").at("latch");
    expect(l.format).toBe("curator.leader-latch");
    expect(l.kind).toBe("election");
    expect(l.holders[0].owner).toBe("participant-0");
    expect(l.waiters.map((w) => w.owner)).toEqual(["participant-1", "participant-2"]);
  });

  it("the whole capture: one record per recipe, nothing else, no problems", () => {
    const { locks, problems } = decode("curator-all.json");
    expect(problems).toEqual([]);
    expect(locks.map((l) => baseName(l.key)).sort()).toEqual(["latch", "mutex", "mutex-revocable", "rwlock-read", "rwlock-write", "selector", "semaphore"]);
  });

  it("after release: Curator's empty lock parents are free records that can be pruned", () => {
    const { locks, problems } = decode("curator-after-release.json");
    expect(problems).toEqual([]);
    const empty = locks.filter((l) => l.format === "zk.empty-parent");
    expect(empty.map((l) => baseName(l.key)).sort()).toEqual(["latch", "mutex", "mutex-revocable", "rwlock-read", "rwlock-write", "selector"]);
    for (const l of empty) {
      expect(l.state).toBe("free");
      expect(decodeFence(fenceOf(l)).h.t).toBe("zk-empty");
    }
    const sem = locks.find((l) => l.key.endsWith("/semaphore"))!;
    expect(sem.format).toBe("curator.semaphore");
    expect(sem.state).toBe("free");
    expect(locks.some((l) => l.key.endsWith("/leases") || l.key.endsWith("/locks"))).toBe(false);
  });
});

describe("kazoo 2.11 layouts captured from the real library", () => {
  it("Lock: <uuid4hex>__lock__<seq>, identifier as owner, ordered waiters", () => {
    const { at, problems } = decode("kazoo-all.json");
    expect(problems).toEqual([]);
    const l = at("lock");
    expect(l.format).toBe("kazoo.lock");
    expect(l.holders[0].owner).toBe("kazoo-0");
    expect(l.holders[0].ownerNote).toBe("identifier");
    expect(l.waiters.map((w) => w.owner)).toEqual(["kazoo-1", "kazoo-2"]);
    expect(l.holders[0].session?.id).toMatch(/^0x[0-9a-f]+$/);
  });

  it("a lock acquired with ephemeral=False is flagged: nothing releases it if its holder dies", () => {
    const l = decode("kazoo-all.json").at("lock-persistent");
    expect(l.holders[0].session).toBeUndefined();
    expect(l.warnings).toContain("no-expiry");
  });

  it("ReadLock/WriteLock: __rlock__ readers hold until a __lock__ writer is ahead", () => {
    const { at } = decode("kazoo-all.json");
    const read = at("rwlock-read");
    expect(read.format).toBe("kazoo.rwlock");
    expect(read.holders.map((h) => h.owner)).toEqual(["kazoo-0", "kazoo-1"]);
    expect(read.waiters.map((w) => w.owner)).toEqual(["kazoo-2"]);
    const write = at("rwlock-write");
    expect(write.holders.map((h) => h.owner)).toEqual(["kazoo-0"]);
    expect(write.waiters.map((w) => w.owner)).toEqual(["kazoo-1", "kazoo-2"]);
  });

  it("Semaphore: max_leases in the node, bare uuid holders, waiters on the -__lock__ sibling", () => {
    const { at, locks } = decode("kazoo-all.json");
    const l = at("semaphore");
    expect(l.format).toBe("kazoo.semaphore");
    expect(l.holders.map((h) => h.owner).sort()).toEqual(["kazoo-0", "kazoo-1"]);
    expect(l.permitsFree).toBe(0);
    expect(l.waiters).toHaveLength(1);
    // kazoo passes its bytes identifier to the inner Lock, which writes str(bytes).
    expect(l.waiters[0].owner).toBe("b'kazoo-2'");
    expect(l.relatedKeys).toEqual(["/capture/kazoo/semaphore-__lock__"]);
    expect(locks.some((x) => x.key.endsWith("-__lock__"))).toBe(false);
  });

  it("after release: kazoo's persistent parents are empty; the semaphore is free with all permits", () => {
    const { locks, problems } = decode("kazoo-after-release.json");
    expect(problems).toEqual([]);
    const sem = locks.find((l) => l.key.endsWith("/semaphore"))!;
    expect(sem.format).toBe("kazoo.semaphore");
    expect(sem.state).toBe("free");
    expect(sem.permitsFree).toBe(2);
    expect(
      locks
        .filter((l) => l.format === "zk.empty-parent")
        .map((l) => baseName(l.key))
        .sort(),
    ).toEqual(["lock", "lock-persistent", "rwlock-read", "rwlock-write"]);
  });
});

let zxid = 100;
function stat(partial: Partial<ZkStat> = {}): ZkStat {
  zxid++;
  return {
    czxid: String(zxid),
    mzxid: String(zxid),
    ctime: 1_700_000_000_000 + zxid,
    mtime: 1_700_000_000_000 + zxid,
    version: 0,
    cversion: 0,
    aversion: 0,
    ephemeralOwner: "0x0",
    dataLength: 0,
    numChildren: 0,
    pzxid: String(zxid),
    ...partial,
  };
}
function dir(path: string, kids: number, extra: Partial<ZkNode> = {}): ZkNode {
  return { path, stat: stat({ numChildren: kids, cversion: kids }), listed: true, ...extra };
}
function eph(path: string, data = "", owner = "0x1000001"): ZkNode {
  const b = Buffer.from(data);
  return { path, stat: stat({ ephemeralOwner: owner, dataLength: b.length }), data: b, listed: false };
}

describe("bad input, look-alikes and other layouts", () => {
  const ctx = { connection: "zk", consistency: "local", now: 1_700_000_100_000, roots: ["/locks"] };

  it("a directory too large to list is a problem with its count, not a crash", () => {
    const { locks, problems } = decodeZooKeeper(
      [dir("/locks", 1), { path: "/locks/big", stat: stat({ numChildren: 300_000 }), listed: false, refusedAbove: 10_000 }],
      ctx,
    );
    expect(locks).toEqual([]);
    expect(problems).toEqual([
      { key: "/locks/big", code: "too-many-children", message: expect.stringMatching(/^300000 children, more than the listing limit of 10000/) },
    ]);
  });

  it("names that look like lock nodes but do not parse are problems; a lock of only those is unknown and not releasable", () => {
    const { locks, problems } = decodeZooKeeper(
      [
        dir("/locks", 2),
        dir("/locks/a", 2),
        eph("/locks/a/_c_6c2e4b7d-0000-4000-8000-000000000001-lock-0000000003"),
        eph("/locks/a/_c_not-a-uuid-lock-12"),
        dir("/locks/b", 1),
        eph("/locks/b/garbage__lock__12"),
      ],
      ctx,
    );
    expect(locks.find((l) => l.key === "/locks/a")!.holders).toHaveLength(1);
    expect(problems.map((p) => [p.key, p.code])).toEqual([
      ["/locks/a/_c_not-a-uuid-lock-12", "malformed-lock-node"],
      ["/locks/b/garbage__lock__12", "malformed-lock-node"],
    ]);
    // b has no parsable contender at all: an unknown record, never releasable
    const b = locks.find((l) => l.key === "/locks/b")!;
    expect([b.state, b.format, b.warnings]).toEqual(["unknown", "zk.unknown", ["unparsed-lock-nodes"]]);
    expect(decodeFence(fenceOf(b)).h.t).toBe("none");
    expect(locks.some((l) => l.key.startsWith("/locks/b/"))).toBe(false);
  });

  it("binary node data is named and previewed as hex, never decoded into the owner", () => {
    const bin = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const node: ZkNode = {
      path: "/locks/x/0123456789abcdef0123456789abcdef__lock__0000000000",
      stat: stat({ ephemeralOwner: "0x2a", dataLength: 4 }),
      data: bin,
      listed: false,
    };
    const { locks } = decodeZooKeeper([dir("/locks", 1), dir("/locks/x", 1), node], ctx);
    expect(locks[0].holders[0].owner).toBe("binary data (4 bytes)");
    expect(locks[0].warnings).toContain("binary-node-data");
    expect(locks[0].raw?.[0]).toMatchObject({ encoding: "hex", preview: "ff fe 00 41" });
  });

  it("the generic recipe: <guid>-lock-<seq>; read-/write- for the shared variant", () => {
    const { locks } = decodeZooKeeper(
      [
        dir("/locks", 2),
        dir("/locks/g", 2),
        eph("/locks/g/x-lock-0000000007", "me"),
        eph("/locks/g/y-lock-0000000005", "you"),
        dir("/locks/rw", 3),
        eph("/locks/rw/a-read-0000000001"),
        eph("/locks/rw/b-write-0000000002"),
        eph("/locks/rw/c-read-0000000003"),
      ],
      ctx,
    );
    const g = locks.find((l) => l.key === "/locks/g")!;
    expect(g.format).toBe("zk.recipe");
    expect(g.holders[0].id).toBe("y-lock-0000000005");
    const rw = locks.find((l) => l.key === "/locks/rw")!;
    expect(rw.format).toBe("zk.recipe-rwlock");
    expect(names(rw.holders)).toEqual(["a-read-0000000001"]);
    expect(names(rw.waiters)).toEqual(["b-write-0000000002", "c-read-0000000003"]);
  });

  it("a lone ephemeral node is Junqueira's simple lock; a mixed directory is flagged", () => {
    const { locks, problems } = decodeZooKeeper(
      [
        dir("/locks", 2),
        eph("/locks/simple", "host-1"),
        dir("/locks/mixed", 2),
        eph("/locks/mixed/_c_6c2e4b7d-0000-4000-8000-000000000001-lock-0000000001"),
        eph("/locks/mixed/0123456789abcdef0123456789abcdef__lock__0000000000"),
      ],
      ctx,
    );
    const simple = locks.find((l) => l.key === "/locks/simple")!;
    expect(simple.format).toBe("zk.ephemeral");
    expect(simple.holders[0].owner).toBe("host-1");
    const mixed = locks.find((l) => l.key === "/locks/mixed")!;
    expect(mixed.warnings).toContain("mixed-recipes");
    expect(problems.map((p) => p.code)).toEqual(["mixed-recipes"]);
  });

  it("roots and never-used leaves are not locks", () => {
    const { locks } = decodeZooKeeper(
      [dir("/locks", 0, { stat: stat({ cversion: 4 }) }), dir("/locks", 1), { path: "/locks/config", stat: stat(), listed: true }],
      ctx,
    );
    expect(locks).toEqual([]);
  });
});

describe("Curator InterProcessSemaphoreV2 with several threads of one session", () => {
  const ctx = { connection: "zk", consistency: "local", now: 1_700_000_100_000, roots: ["/locks"] };
  const uuid = (n: number) => `6c2e4b7d-0000-4000-8000-${String(n).padStart(12, "0")}`;
  const S = "0x100000000000005";
  const R = "0x100000000000006";
  const Q = "0x100000000000007";
  /** The semaphore's nodes in the order Curator creates them (czxid grows with each call). */
  function semaphore(steps: Array<["lease" | "lock", number, string]>): ZkNode[] {
    const leases = steps.filter(([k]) => k === "lease");
    const locks = steps.filter(([k]) => k === "lock");
    const out = [dir("/locks", 1), dir("/locks/sem", 2), dir("/locks/sem/leases", leases.length), dir("/locks/sem/locks", locks.length)];
    for (const [k, seq, owner] of steps) {
      out.push(eph(`/locks/sem/${k}s/_c_${uuid(out.length)}-${k}-${String(seq).padStart(10, "0")}`, "127.0.0.1", owner));
    }
    return out;
  }
  const seqs = (xs: Array<{ id: string }>) => xs.map((x) => seqOf(x.id));
  const kinds = (xs: Array<{ id: string }>) => xs.map((x) => (x.id.includes("-lease-") ? "lease" : "lock"));

  it("T1 of session S holds lease 0; T2 of S holds locks/ and waits with lease 1: lease 0 holds, lease 1 waits; a release deletes lease 0", () => {
    // T1: lock-0, lease-0 (a permit: maxLeases 1), lock-0 let go; T2: lock-1, lease-1, waits.
    const nodes = semaphore([
      ["lease", 0, S],
      ["lock", 1, S],
      ["lease", 1, S],
    ]);
    const { locks } = decodeZooKeeper(nodes, ctx);
    const l = locks.find((x) => x.key === "/locks/sem")!;
    expect([l.format, l.state]).toEqual(["curator.semaphore", "held"]);
    expect(seqs(l.holders)).toEqual([0]);
    expect(l.holders[0].id).toMatch(/-lease-0000000000$/);
    expect(l.waiters.map((w) => w.id)).toEqual([baseName(nodes[6].path)]);
    expect(l.waiters[0].id).toMatch(/-lease-0000000001$/);
    expect(l.fencingToken).toBe(nodes[4].stat.czxid);
    expect(l.warnings).toEqual(["max-leases-unknown", "one-session-several-leases"]);
    expect(targetOf(decodeFence(fenceOf(l)).h)).toEqual({
      t: "delete",
      nodes: [{ path: nodes[4].path, version: 0, czxid: nodes[4].stat.czxid }],
      revoke: null,
    });
  });

  it("with other sessions: R and S's T1 hold, S's T2 waits with the lease it made after its locks/ node, Q queues behind it", () => {
    const nodes = semaphore([
      ["lease", 0, R],
      ["lease", 1, S],
      ["lock", 2, S],
      ["lock", 3, Q],
      ["lease", 2, S],
    ]);
    const l = decodeZooKeeper(nodes, ctx).locks.find((x) => x.key === "/locks/sem")!;
    expect(seqs(l.holders)).toEqual([0, 1]);
    expect(l.holders.map((h) => h.session?.id)).toEqual([R, S]);
    expect([kinds(l.waiters), seqs(l.waiters)]).toEqual([
      ["lease", "lock"],
      [2, 3],
    ]);
    expect(l.waiters.map((w) => w.position)).toEqual([1, 2]);
    expect(l.warnings).toContain("one-session-several-leases");
  });

  it("the locks/ head has not made its lease yet: its session's older lease holds (the head waits with its locks/ node)", () => {
    const nodes = semaphore([
      ["lease", 0, S],
      ["lock", 1, S],
    ]);
    const l = decodeZooKeeper(nodes, ctx).locks.find((x) => x.key === "/locks/sem")!;
    expect(l.state).toBe("held");
    expect(seqs(l.holders)).toEqual([0]);
    expect([kinds(l.waiters), seqs(l.waiters)]).toEqual([["lock"], [1]]);
    expect(l.warnings).toEqual(["max-leases-unknown"]);
  });
});

describe("lock directories decoded during the walk (decodeLockDirAlone)", () => {
  const FIXTURES = readdirSync(path.join(__dirname, "..", "testdata", "zookeeper")).filter((f) => f.endsWith(".json"));

  /**
   * What the adapter's walk hands the decoder: every listed directory whose children are all
   * leaves decoded from them, and the node list without those children.
   */
  function earlyOf(nodes: ZkNode[], ctx: ZkDecodeContext): { early: Map<string, DecodedLockDir>; rest: ZkNode[] } {
    const early = new Map<string, DecodedLockDir>();
    for (const dir of nodes.filter((n) => n.listed)) {
      const kids = nodes.filter((n) => n !== dir && parentOf(n.path) === dir.path);
      if (kids.some((k) => k.listed || k.stat.numChildren > 0)) continue;
      const d = decodeLockDirAlone(dir, kids, ctx);
      if (d) early.set(dir.path, d);
    }
    return { early, rest: nodes.filter((n) => !early.has(parentOf(n.path))) };
  }

  it.each(FIXTURES)("%s: the same records and problems, in the same order, with and without them", (name) => {
    const { fixture, nodes } = loadFixture(name);
    for (const previews of [false, true]) {
      const ctx: ZkDecodeContext = { connection: "zk", consistency: "sync() then read", now: fixture.now, roots: [fixture.root], previews };
      const { early, rest } = earlyOf(nodes, ctx);
      // After a release the lock directories are empty: nothing to decode early there.
      expect(early.size > 0).toBe(!name.includes("after-release"));
      expect(rest.length < nodes.length).toBe(!name.includes("after-release"));
      const res = decodeZooKeeper(rest, ctx, early);
      expect(res).toEqual(decodeZooKeeper(nodes, ctx));
      // The entries were taken, not decoded again.
      for (const e of early.values()) expect(res.locks.includes(e.record) || !res.locks.some((l) => l.key === e.dir.path)).toBe(true);
      expect(res.locks.some((l) => [...early.values()].some((e) => e.record === l))).toBe(early.size > 0);
    }
  });

  it("an entry made from other nodes than the decoder's is decoded again, not trusted", () => {
    const { fixture, nodes } = loadFixture("curator-all.json");
    const ctx: ZkDecodeContext = { connection: "zk", consistency: "sync() then read", now: fixture.now, roots: [fixture.root] };
    const mutex = `${fixture.root}/mutex`;
    const dir = nodes.find((n) => n.path === mutex)!;
    const kids = nodes.filter((n) => parentOf(n.path) === mutex);
    // Made while one contender was missing (it was read later): a stale record. The list holds
    // the directory's children: the list is what is decoded.
    const stale = decodeLockDirAlone(dir, kids.slice(1), ctx)!;
    // Made from a copy of the directory node, not the one in the list.
    const copied = decodeLockDirAlone({ ...dir }, kids, ctx)!;
    const whole = decodeZooKeeper(nodes, ctx);
    for (const e of [stale, copied]) {
      const res = decodeZooKeeper(nodes, ctx, new Map([[mutex, e]]));
      expect(res).toEqual(whole);
      expect(res.locks.find((l) => l.key === mutex)).not.toBe(e.record);
    }
    expect(stale.record.holders[0].id).not.toBe(whole.locks.find((l) => l.key === mutex)!.holders[0].id);
    // The children left out of the list, as the walk does: the entry made from the very directory
    // is taken; one made from a copy is not.
    const rest = nodes.filter((n) => parentOf(n.path) !== mutex);
    const made = decodeLockDirAlone(dir, kids, ctx)!;
    expect(decodeZooKeeper(rest, ctx, new Map([[mutex, made]])).locks.find((l) => l.key === mutex)).toBe(made.record);
    expect(decodeZooKeeper(rest, ctx, new Map([[mutex, copied]])).locks.find((l) => l.key === mutex)).not.toBe(copied.record);
  });
});
