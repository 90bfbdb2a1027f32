// Ambiguous outcomes (reliability plan row 14), on every store: a real TCP proxy between the
// console and the store loses the reply to the release (the store applied it) or the release
// itself (the store never saw it). Either way the console cannot know: it answers 503
// outcome_unknown, audits "unknown", never sends the release again, and settles it from the
// next read of the store — "applied" (reconciled) or "not_applied".

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { Etcd3 } from "etcd3";
import { startRedis } from "../../scripts/servers/redis";
import { startEtcd } from "../../scripts/servers/etcd";
import { startZooKeeper } from "../../scripts/servers/zookeeper";
import { startConsul } from "../../scripts/servers/consul";
import { kv } from "../../scripts/capture/consul/dump";
import { startFaultProxy, type FaultProxy } from "../../scripts/servers/fault-proxy";
import { waitFor } from "../../scripts/servers/process";
import { openRegistry, closeRegistry } from "../../scripts/servers/registry";
import type { Registry } from "../registry";
import { CreateMode, ZkSession } from "../stores/zookeeper/client";
import { decodeFence, fenceOf } from "../fence";
import type { LockRecord } from "../model";
import { requestRelease } from "./release";
import { releaseResponse } from "./release-response";
import type { Actor } from "../auth/guard";

const ana: Actor = { name: "ana", role: "operator", method: "session" };
const TIMEOUT_MS = 1_500;

interface Held {
  /** The lock key as LockDeck names it. */
  key: string;
  /** True while the store still has exactly this holding. */
  stillHeld(): Promise<boolean>;
}

interface StoreCase {
  name: string;
  start(): Promise<{ port: number; stop(): Promise<void> }>;
  connection(proxy: FaultProxy): Record<string, unknown>;
  /** Takes a lock named `name` the way its library lays it out. */
  hold(name: string): Promise<Held>;
  /** Bytes that only the release request for this lock carries on the wire. */
  releaseBytes(lock: LockRecord): Buffer;
  /** A lost reply leaves the client's connection open (the adapter must recover by itself). */
  keepConnection?: boolean;
  cleanup?(): Promise<void>;
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

function redisCase(): StoreCase {
  let client: Redis;
  return {
    name: "Redis",
    keepConnection: true,
    async start() {
      const s = await startRedis({ notifyKeyspaceEvents: "KA" });
      client = new Redis(s.url);
      return { port: s.port, stop: async () => (client.disconnect(), await s.stop()) };
    },
    connection: (p) => ({ kind: "redis", url: `redis://${p.address}`, notifications: "use", commandTimeoutMs: TIMEOUT_MS }),
    async hold(name) {
      const key = `lock:${name}`;
      const token = `tok-${name}-0123456789abcdef`;
      await client.set(key, token, "PX", 120_000);
      return { key, stillHeld: async () => (await client.get(key)) === token };
    },
    // EVAL/EVALSHA <script> 1 <key>: "numkeys 1, then the key" is only ever sent by a script call.
    releaseBytes: (lock) => Buffer.from(`\r\n$1\r\n1\r\n$${Buffer.byteLength(lock.key)}\r\n${lock.key}\r\n`),
  };
}

function etcdCase(): StoreCase {
  let raw: Etcd3;
  return {
    name: "etcd",
    async start() {
      const s = await startEtcd();
      raw = new Etcd3({ hosts: s.endpoint });
      return { port: s.clientPort, stop: async () => (raw.close(), await s.stop()) };
    },
    connection: (p) => ({ kind: "etcd", endpoints: [p.endpoint], prefixes: ["locks/"], requestTimeoutMs: TIMEOUT_MS }),
    async hold(name) {
      const lease = raw.lease(120, { autoKeepAlive: true });
      const id = await lease.grant();
      // concurrency.Mutex's layout: <prefix>/<lease id in hex>, empty value, on the lease.
      const key = `locks/${name}/${BigInt(id).toString(16)}`;
      await lease.put(key).value("");
      const created = (await raw.get(key).exec()).kvs[0].create_revision;
      return {
        key: `locks/${name}/`,
        stillHeld: async () => (await raw.get(key).exec()).kvs[0]?.create_revision === created,
      };
    },
    // The txn's success op: RequestOp{request_delete_range (3): DeleteRangeRequest{key (1)}}.
    releaseBytes(lock) {
      const h = decodeFence(fenceOf(lock)).h;
      const key = Buffer.from(`${lock.key}${BigInt(String(h.l)).toString(16)}`);
      return Buffer.concat([Buffer.from([0x1a, key.length + 2, 0x0a, key.length]), key]);
    },
  };
}

function zookeeperCase(): StoreCase {
  let raw: ZkSession;
  return {
    name: "ZooKeeper",
    async start() {
      const s = await startZooKeeper();
      raw = new ZkSession({ connectString: s.address, sessionTimeoutMs: 30_000, auth: [] }, 10_000);
      await raw.connected();
      for (const p of ["/locks"]) await raw.create(p, Buffer.alloc(0), CreateMode.PERSISTENT);
      return { port: s.port, stop: async () => (raw.close(), await s.stop()) };
    },
    connection: (p) => ({ kind: "zookeeper", connectString: p.address, roots: ["/locks"], commandTimeoutMs: TIMEOUT_MS, sessionTimeoutMs: 10_000 }),
    async hold(name) {
      await raw.create(`/locks/${name}`, Buffer.alloc(0), CreateMode.PERSISTENT);
      // Curator's InterProcessMutex node: _c_<uuid>-lock-<sequence>, ephemeral.
      const node = `/locks/${name}/_c_${crypto.randomUUID()}-lock-0000000000`;
      await raw.create(node, Buffer.alloc(0), CreateMode.EPHEMERAL);
      return { key: `/locks/${name}`, stillHeld: async () => (await raw.exists(node)) !== null };
    },
    // A delete request: opcode 2, then the holder node's path as a length-prefixed string.
    releaseBytes(lock) {
      const node = Buffer.from(JSON.parse(String(decodeFence(fenceOf(lock)).h.nodes))[0][0] as string);
      return Buffer.concat([int32(2), int32(node.length), node]);
    },
  };
}

function consulCase(): StoreCase {
  let server: Awaited<ReturnType<typeof startConsul>>;
  return {
    name: "Consul",
    async start() {
      server = await startConsul();
      return { port: server.ports.http, stop: () => server.stop() };
    },
    connection: (p) => ({ kind: "consul", url: p.endpoint, prefixes: ["locks/"], requestTimeoutMs: TIMEOUT_MS, blockingWaitSec: 5 }),
    async hold(name) {
      const session = (JSON.parse(await kv(server, "PUT", "/v1/session/create", JSON.stringify({ TTL: "60s", LockDelay: "0s" }))) as { ID: string }).ID;
      const key = `locks/${name}`;
      expect((await kv(server, "PUT", `/v1/kv/${key}?acquire=${session}`, "holder")).trim()).toBe("true");
      return {
        key,
        stillHeld: async () => {
          const text = await kv(server, "GET", `/v1/kv/${key}?consistent`);
          return !!text && (JSON.parse(text) as Array<{ Session?: string }>)[0]?.Session === session;
        },
      };
    },
    releaseBytes: () => Buffer.from("PUT /v1/txn"),
  };
}

describe.each([redisCase(), etcdCase(), zookeeperCase(), consulCase()])("ambiguous release outcome on $name", (store) => {
  let stopStore: () => Promise<void>;
  let proxy: FaultProxy;
  let reg: Registry;
  let upstream = Buffer.alloc(0);

  beforeAll(async () => {
    const s = await store.start();
    stopStore = s.stop;
    proxy = await startFaultProxy(s.port);
    // Everything the console sends to the store, to count how often a release went out.
    proxy.tap((dir, chunk) => {
      if (dir === "up") upstream = Buffer.concat([upstream, chunk]);
    });
    reg = openRegistry([{ id: "s", ...store.connection(proxy) }]);
  }, 120_000);
  afterAll(async () => {
    await closeRegistry(reg);
    await proxy?.close();
    await stopStore?.();
  });

  const sent = (bytes: Buffer) => {
    let n = 0;
    for (let i = upstream.indexOf(bytes); i >= 0; i = upstream.indexOf(bytes, i + 1)) n++;
    return n;
  };

  async function seen(key: string): Promise<LockRecord> {
    await waitFor(async () => reg.get("s").hub.reachable && reg.get("s").hub.get(key)?.state === "held", {
      timeoutMs: 20_000,
      what: `the console to see ${key} held`,
    });
    return reg.get("s").hub.get(key)!;
  }

  async function ambiguousRelease(lock: LockRecord, lose: "reply" | "request") {
    const bytes = store.releaseBytes(lock);
    const before = sent(bytes);
    const fired = proxy.dropReplyAfter(bytes, { dropRequest: lose === "request", resetAfterMs: store.keepConnection ? -1 : TIMEOUT_MS + 500 });
    const answer = await requestRelease(reg, "s", { key: lock.key, fence: fenceOf(lock), reason: `lost ${lose}`, mode: "delete" }, ana);
    await fired;
    expect(answer.kind === "done" && answer.outcome.status).toBe("unknown");
    const res = releaseResponse(answer);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string }; requestId: string };
    expect(body.error.code).toBe("outcome_unknown");
    expect(body.error.message).toMatch(/may or may not have been applied/);
    const trail = () => reg.audit.read({ requestId: body.requestId });
    expect(trail().map((e) => [e.phase, e.outcome])).toEqual([
      ["outcome", "unknown"],
      ["intent", undefined],
    ]);
    await waitFor(async () => trail().some((e) => e.reconciled), { timeoutMs: 30_000, what: `the ${lose}-lost release to be reconciled` });
    // Never sent again: not by the console, not by the reconciler.
    expect(sent(bytes) - before).toBe(lose === "reply" ? 1 : 0);
    return trail()[0];
  }

  it("a lost reply: 503 outcome_unknown, audited unknown, then settled from a fresh read: the holding is gone, who removed it stays unknown", async () => {
    const held = await store.hold(`amb-reply-${Date.now()}`);
    const lock = await seen(held.key);
    const settled = await ambiguousRelease(lock, "reply");
    // The store cannot tell this release from the holder's own release or an expiry: not "applied".
    expect(settled).toMatchObject({
      phase: "outcome",
      outcome: "unknown",
      reconciled: true,
      detail: expect.stringMatching(/^the holding you saw is gone, but who removed it cannot be told/),
    });
    expect(await held.stillHeld()).toBe(false);
  });

  it("a lost request: 503 outcome_unknown, audited unknown, then reconciled as not applied; the holder keeps it", async () => {
    const held = await store.hold(`amb-request-${Date.now()}`);
    const lock = await seen(held.key);
    const settled = await ambiguousRelease(lock, "request");
    expect(settled).toMatchObject({ phase: "outcome", outcome: "not_applied", reconciled: true });
    expect(await held.stillHeld()).toBe(true);
    // The holding is free for a new, deliberate attempt once the unknown is settled.
    const again = await requestRelease(reg, "s", { key: lock.key, fence: fenceOf(lock), reason: "now for real", mode: "delete" }, ana);
    expect(again.kind === "done" && [again.outcome.status, again.note]).toEqual(["released", undefined]);
    expect(await held.stillHeld()).toBe(false);
  });
});
