// The lean getData / getChildren (lean.ts) against a real ZooKeeper: every answer equals what
// node-zookeeper-client's own calls read on the same session (data, Stat, names), inside a chroot
// too; errors keep their codes; thousands of replies in flight and replies read a few bytes at a
// time through a real TCP proxy come back whole and in order.

import { describe, expect, it } from "vitest";
import type zookeeper from "node-zookeeper-client";
import { CreateMode, ZK, ZkError, ZkSession, digestAcl, toStat } from "./client";
import { readStat } from "./lean";
import { ensurePath, zookeeperFixture } from "../../../test/support/zookeeper";
import { startFaultProxy } from "../../../scripts/servers/fault-proxy";

const zk = zookeeperFixture();
const ROOT = "/lean";

/** The library's own getData / getChildren on the session's client, for comparison. */
function libraryData(s: ZkSession, path: string): Promise<{ data: Buffer; stat: ReturnType<typeof toStat> }> {
  return new Promise((resolve, reject) =>
    s.client.getData(path, (err: unknown, data?: Buffer, stat?: zookeeper.Stat) =>
      err ? reject(err) : resolve({ data: data ?? Buffer.alloc(0), stat: toStat(stat!) }),
    ),
  );
}
function libraryChildren(s: ZkSession, path: string): Promise<{ children: string[]; stat: ReturnType<typeof toStat> }> {
  return new Promise((resolve, reject) =>
    s.client.getChildren(path, (err: unknown, children?: string[], stat?: zookeeper.Stat) =>
      err ? reject(err) : resolve({ children: children!, stat: toStat(stat!) }),
    ),
  );
}

function session(connectString: string): ZkSession {
  return new ZkSession({ connectString, sessionTimeoutMs: 10_000, auth: [] }, 10_000);
}

// 2 000 names of ~60 bytes: a 130 KB listing.
const WIDE = Array.from({ length: 2000 }, (_, i) => `_c_${String(i).padStart(8, "0")}-lock-${String(i).padStart(10, "0")}-padding-padding`);
const SMALL = ["a", "b-lock-0000000001", "ü"];

/** Nodes of every shape the walk meets: empty, text, binary over one socket read, ephemeral, wide and small parents. */
async function populate(): Promise<string[]> {
  const paths = [`${ROOT}/empty`, `${ROOT}/text`, `${ROOT}/binary`, `${ROOT}/wide`, `${ROOT}/wide/${WIDE[0]}`, `${ROOT}/small`];
  if (await zk.raw.exists(`${ROOT}/small`)) return paths;
  await ensurePath(zk.raw, `${ROOT}/wide`);
  await zk.raw.create(`${ROOT}/empty`, Buffer.alloc(0), CreateMode.PERSISTENT);
  await zk.raw.create(`${ROOT}/text`, Buffer.from("10.0.0.7 ünïcode"), CreateMode.PERSISTENT);
  // 300 KB: more than one read of the socket, so the frame arrives in pieces.
  await zk.raw.create(`${ROOT}/binary`, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256)), CreateMode.PERSISTENT);
  for (let i = 0; i < WIDE.length; i += 500)
    await zk.raw.createAll(WIDE.slice(i, i + 500).map((n) => ({ path: `${ROOT}/wide/${n}`, data: Buffer.from(n), mode: CreateMode.EPHEMERAL })));
  await zk.raw.createAll([
    { path: `${ROOT}/small`, mode: CreateMode.PERSISTENT },
    ...SMALL.map((n) => ({ path: `${ROOT}/small/${n}`, mode: CreateMode.PERSISTENT })),
  ]);
  return paths;
}

describe("lean getData / getChildren", () => {
  it("answer exactly what the library reads: data, Stat and names, and inside a chroot", async () => {
    const paths = await populate();
    const s = session(zk.server.address);
    const chrooted = session(`${zk.server.address}${ROOT}`);
    try {
      await Promise.all([s.connected(), chrooted.connected()]);
      for (const p of paths) {
        const lean = await s.getData(p);
        expect(lean).toEqual(await libraryData(s, p));
        expect(await chrooted.getData(p.slice(ROOT.length))).toEqual(lean);
        const kids = await s.getChildren(p);
        expect(kids).toEqual(await libraryChildren(s, p));
        expect(await chrooted.getChildren(p.slice(ROOT.length))).toEqual(kids);
      }
      expect((await s.getChildren(`${ROOT}/wide`)).children).toHaveLength(2000);
      expect((await s.getData(`${ROOT}/binary`)).data).toHaveLength(300_000);
      expect((await s.getData(paths[4])).stat.ephemeralOwner).toBe(zk.raw.sessionId);
    } finally {
      s.close();
      chrooted.close();
    }
  }, 60_000);

  it("keep the server's error codes, and refuse a malformed path without sending it", async () => {
    const s = session(zk.server.address);
    try {
      await s.connected();
      for (const read of [() => s.getData(`${ROOT}/missing`), () => s.getChildren(`${ROOT}/missing`)]) {
        const err = await read().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ZkError);
        expect((err as ZkError).code).toBe(ZK.NO_NODE);
      }
      await expect(s.getData(`${ROOT}/`)).rejects.toThrow(/ends with \//);
      await expect(s.getChildren("lean")).rejects.toThrow(/not an absolute znode path/);
      // The session carries on.
      expect((await s.getData(`${ROOT}/text`)).data.toString()).toBe("10.0.0.7 ünïcode");
    } finally {
      s.close();
    }
  }, 60_000);

  it("thousands of replies in flight, and replies read a few bytes at a time, come back whole and in order", async () => {
    const paths = await populate();
    const wide = WIDE.map((n) => `${ROOT}/wide/${n}`);
    const proxy = await startFaultProxy(zk.server.port);
    const s = session(proxy.address);
    try {
      await s.connected();
      // Many frames per socket read.
      const all = await Promise.all(wide.map((p) => s.getData(p)));
      expect(all.map((r) => r.data.toString())).toEqual(WIDE);
      // Frames cut anywhere, their 4-byte length prefix included (3-byte pieces, 1 ms apart).
      proxy.split(3);
      const some = [...paths.filter((p) => !p.endsWith("binary")), ...wide.slice(0, 10)];
      const cut = await Promise.all(some.map((p) => s.getData(p)));
      expect(cut).toEqual(await Promise.all(some.map((p) => libraryData(zk.raw, p))));
      expect(await s.getChildren(`${ROOT}/small`)).toEqual(await libraryChildren(zk.raw, `${ROOT}/small`));
      proxy.restore();
      expect(await s.getData(`${ROOT}/binary`)).toEqual(await libraryData(zk.raw, `${ROOT}/binary`));
    } finally {
      s.close();
      await proxy.close();
    }
  }, 120_000);
});

describe("lean multiRead", () => {
  it("answers each op in its place as the lone read does, inside a chroot too; an op that fails fails alone", async () => {
    const paths = await populate();
    const secret = `${ROOT}/secret`;
    if (!(await zk.raw.exists(secret))) await zk.raw.create(secret, Buffer.from("x"), CreateMode.PERSISTENT, digestAcl("ops", "s3cret"));
    const proxy = await startFaultProxy(zk.server.port);
    const s = session(zk.server.address);
    const chrooted = session(`${zk.server.address}${ROOT}`);
    const cut = session(proxy.address);
    try {
      await Promise.all([s.connected(), chrooted.connected(), cut.connected()]);
      const ops = paths.flatMap((path) => [
        { kind: "data" as const, path },
        { kind: "children" as const, path },
      ]);
      const expected = [];
      for (const p of paths) expected.push(await s.getData(p), { children: (await s.getChildren(p)).children });
      const answers = await s.multiRead([
        ...ops,
        { kind: "data", path: `${ROOT}/missing` },
        { kind: "children", path: `${ROOT}/missing` },
        { kind: "data", path: secret },
      ]);
      expect(answers).toEqual([...expected, { err: ZK.NO_NODE }, { err: ZK.NO_NODE }, { err: ZK.NO_AUTH }]);
      expect(await chrooted.multiRead(ops.map((o) => ({ ...o, path: o.path.slice(ROOT.length) })))).toEqual(expected);
      // One reply cut anywhere (3-byte pieces, 1 ms apart, through a real proxy); then the 300 KB
      // node and 2 000 names in one reply, over several socket reads.
      const few = (_: unknown, i: number) => !/(binary|wide)$/.test(ops[i].path);
      proxy.split(3);
      expect(await cut.multiRead(ops.filter(few))).toEqual(expected.filter(few));
      proxy.restore();
      expect(await cut.multiRead(ops)).toEqual(expected);
      // Nothing is sent for a malformed path, and the session reads on.
      await expect(
        s.multiRead([
          { kind: "data", path: `${ROOT}/text` },
          { kind: "children", path: `${ROOT}//x` },
        ]),
      ).rejects.toThrow(/empty or relative segment/);
      expect(await s.multiRead([{ kind: "data", path: `${ROOT}/text` }])).toEqual([await s.getData(`${ROOT}/text`)]);
      expect(s.multiReadRefused).toBe(false);
    } finally {
      s.close();
      chrooted.close();
      cut.close();
      await proxy.close();
    }
  }, 120_000);
});

describe("readStat", () => {
  it("reads every 64-bit value exactly as the library's Stat through toStat: both sides of 2^53, negative, session ids", () => {
    const values = [
      0n,
      1n,
      0x1f_ffff_ffff_ffffn,
      0x20_0000_0000_0000n,
      0x20_0000_0000_0001n,
      2n ** 63n - 1n,
      -1n,
      -(2n ** 63n),
      0x1000a3b5c0000n,
      0xffff_ffffn,
      0x1_0000_0000n,
    ];
    for (const v of values) {
      const b = Buffer.alloc(3 + 68);
      const at = 3; // not at the start of the buffer, as in a reply frame
      const longs = { czxid: 0, mzxid: 8, ctime: 16, mtime: 24, ephemeralOwner: 44, pzxid: 60 };
      for (const off of Object.values(longs)) b.writeBigInt64BE(BigInt.asIntN(64, v), at + off);
      b.writeInt32BE(7, at + 32);
      b.writeInt32BE(-1, at + 36);
      b.writeInt32BE(3, at + 40);
      b.writeInt32BE(11, at + 52);
      b.writeInt32BE(2, at + 56);
      const library = Object.fromEntries(Object.entries(longs).map(([k, off]) => [k, b.subarray(at + off, at + off + 8)]));
      const stat = { ...library, version: 7, cversion: -1, aversion: 3, dataLength: 11, numChildren: 2 } as unknown as zookeeper.Stat;
      expect(readStat(b, at)).toEqual(toStat(stat));
    }
    expect(() => readStat(Buffer.alloc(67), 0)).toThrow(RangeError);
  });

  it("names each session id exactly, again and again, past the ids it keeps", () => {
    const b = Buffer.alloc(68);
    const owner = (id: bigint) => {
      b.writeBigUInt64BE(id, 44);
      return readStat(b, 0).ephemeralOwner;
    };
    // 10 000 ids (more than the 4 096 kept), each read twice in a row and again after the rest.
    const ids = Array.from({ length: 10_000 }, (_, i) => (BigInt(i % 7) << 56n) | (BigInt(i * 2654435761) & 0xffff_ffff_ffffn));
    for (const id of ids) {
      const text = owner(id);
      expect(text).toBe(`0x${id.toString(16)}`);
      expect(owner(id)).toBe(text);
    }
    for (const id of ids.slice(0, 50)) expect(owner(id)).toBe(`0x${id.toString(16)}`);
    expect(owner(0n)).toBe("0x0");
  });
});
