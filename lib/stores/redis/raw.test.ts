// The snapshot's own connection against a real redis-server, and through the fault proxy for a
// slow, cut or reset path: a read through it either answers whole or fails.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { readFileSync } from "node:fs";
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from "../../../scripts/servers/redis";
import { startFaultProxy, type FaultProxy } from "../../../scripts/servers/fault-proxy";
import { makeTls, type EtcdTls } from "../../../scripts/servers/etcd";
import { freePort } from "../../../scripts/servers/ports";
import { makeTempDir, removeDir } from "../../../scripts/servers/process";
import { RawConnection, endpointOf, type RawEndpoint } from "./raw";
import { RedisAdapter } from "./adapter";
import { RedisConnectionSchema } from "./config";

const PASSWORD = "raw-conn-secret";
const never = new AbortController().signal;

describe("RawConnection (real redis-server with a password)", () => {
  let server: RedisServer;
  let admin: Redis;
  let proxy: FaultProxy;
  const at = (o: Partial<RawEndpoint> = {}): RawEndpoint => ({ host: "127.0.0.1", port: server.port, password: PASSWORD, db: 3, ...o });

  beforeAll(async () => {
    server = await startRedis({ password: PASSWORD });
    admin = new Redis(server.url);
    await admin.call("ACL", "SETUSER", "reader", "on", `>reader-pw`, "~*", "+@read", "+client|setname", "+select");
    // Read rights only: CLIENT SETNAME is refused, which must not stop the read.
    await admin.call("ACL", "SETUSER", "nameless", "on", `>nameless-pw`, "~*", "+@read", "+select");
    await admin.select(3);
    await admin.set("lock:a", "token-a", "PX", 60_000);
    await admin.hset("lock:h", "uuid:1", "1");
    await admin.set(Buffer.from([0x6c, 0xff, 0x00]), "binary-key");
    proxy = await startFaultProxy(server.port);
  });
  afterAll(async () => {
    await proxy?.close();
    admin?.disconnect();
    await server?.stop();
  });

  it("logs in (password, ACL user, ACL user without CLIENT SETNAME), selects the database and answers a page as ioredis' pipeline would: replies in order, reply errors in place", async () => {
    for (const login of [{}, { username: "reader", password: "reader-pw" }, { username: "nameless", password: "nameless-pw" }]) {
      const c = await RawConnection.open(at(login), 2_000, never);
      try {
        const r = await c
          .pipeline()
          .pttl("lock:a")
          .pttl("lock:none")
          .mgetBuffer("lock:a", "lock:h", Buffer.from([0x6c, 0xff, 0x00]))
          .getrangeBuffer("lock:h", 0, 99)
          .hscanBuffer("lock:h", 0, "COUNT", 1000)
          .type("lock:h")
          .exec();
        expect(r[0][0]).toBeNull();
        expect(r[0][1]).toBeGreaterThan(50_000);
        expect(r[1]).toEqual([null, -2]);
        expect((r[2][1] as Array<Buffer | null>).map((v) => v?.toString() ?? null)).toEqual(["token-a", null, "binary-key"]);
        expect(r[3][0]?.name).toBe("ReplyError");
        expect(r[3][0]?.message).toMatch(/^WRONGTYPE/);
        const [cursor, flat] = r[4][1] as [Buffer, Buffer[]];
        expect([String(cursor), flat.map(String)]).toEqual(["0", ["uuid:1", "1"]]);
        expect(r[5][1]).toBe("hash");
        const [next, keys] = await c.scanBuffer("0", "COUNT", 100);
        expect(String(next)).toBe("0");
        expect(keys.map((k) => k.toString("latin1")).sort()).toEqual(["l\xff\x00", "lock:a", "lock:h"].sort());
      } finally {
        c.close();
      }
    }
  });

  it("is refused with the server's own words for a wrong password, and leaves no connection behind", async () => {
    await expect(RawConnection.open(at({ password: "wrong" }), 2_000, never)).rejects.toThrow(/WRONGPASS|invalid password/);
    await expect(RawConnection.open(at({ password: undefined }), 2_000, never)).rejects.toThrow(/NOAUTH/);
    const list = String(await admin.client("LIST"));
    expect(list).not.toMatch(/name=lockdeck-snapshot/);
  });

  it("fails every command in flight, and the next, when a reply does not come within the timeout", async () => {
    const c = await RawConnection.open(at({ port: proxy.port }), 300, never);
    proxy.delay(1_000, "down");
    try {
      const t0 = Date.now();
      const pending = [c.pipeline().pttl("lock:a").exec(), c.scanBuffer("0", "COUNT", 10)];
      for (const p of pending) await expect(p).rejects.toThrow(/timed out after 300 ms/);
      expect(Date.now() - t0).toBeLessThan(900);
      await expect(c.pipeline().pttl("lock:a").exec()).rejects.toThrow(/timed out/);
    } finally {
      proxy.restore();
      c.close();
    }
  });

  it("a reply cut midway and the connection reset: the page fails whole, no partial answer", async () => {
    const c = await RawConnection.open(at({ port: proxy.port }), 5_000, never);
    try {
      const dropped = proxy.dropReplyAfter("MGET", { passBytes: 20, resetAfterMs: 50 });
      const page = c.pipeline().pttl("lock:a").mgetBuffer("lock:a", "lock:h").exec();
      await dropped;
      await expect(page).rejects.toThrow();
    } finally {
      proxy.restore();
      c.close();
    }
  });

  it("an abort fails what is in flight at once", async () => {
    const ctl = new AbortController();
    const c = await RawConnection.open(at({ port: proxy.port }), 5_000, ctl.signal);
    proxy.delay(2_000, "down");
    try {
      const page = c.pipeline().pttl("lock:a").exec();
      ctl.abort();
      await expect(page).rejects.toThrow(/aborted/);
    } finally {
      proxy.restore();
      c.close();
    }
  });
});

/** `cmdstat_client|setname` calls: each snapshot's own connection names itself once. */
async function ownConnections(r: Redis): Promise<number> {
  return Number(/cmdstat_client\|setname:calls=(\d+)/.exec(await r.info("commandstats"))?.[1] ?? 0);
}

describe("snapshots read through their own connection", () => {
  let server: RedisServer;
  let cluster: RedisCluster;
  beforeAll(async () => {
    [server, cluster] = await Promise.all([startRedis({ password: PASSWORD }), startRedisCluster(3)]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  it("standalone with a password and a database: one own connection per snapshot, closed after it, every lock read", async () => {
    const admin = new Redis(server.url, { db: 5 });
    const url = server.url.replace(/\/?$/, "/5");
    const adapter = new RedisAdapter("raw-s", RedisConnectionSchema.parse({ id: "raw-s", kind: "redis", url }));
    try {
      const n = 2500;
      const p = admin.pipeline();
      for (let i = 0; i < n; i++) p.set(`svc:lock:${i}`, `tok-${i}`, "PX", 60_000);
      await p.exec();
      const before = await ownConnections(admin);
      const snap = await adapter.snapshot(never);
      expect(snap.locks).toHaveLength(n);
      expect(snap.locks.find((l) => l.key === "svc:lock:7")?.holders[0]?.id).toMatch(/tok-7/);
      expect((await ownConnections(admin)) - before).toBe(1);
      expect(String(await admin.client("LIST"))).not.toMatch(/name=lockdeck-snapshot/);
      const endpoint = endpointOf(admin);
      expect(endpoint).toMatchObject({ host: "127.0.0.1", port: server.port, db: 5, password: PASSWORD });
    } finally {
      await adapter.close();
      admin.disconnect();
    }
  });

  it("cluster: one own connection to each master per snapshot", async () => {
    const seed = new Redis.Cluster([{ host: "127.0.0.1", port: cluster.nodes[0].port }]);
    const adapter = new RedisAdapter("raw-c", RedisConnectionSchema.parse({ id: "raw-c", kind: "redis", url: cluster.urls[0], topology: "cluster" }));
    try {
      for (let i = 0; i < 300; i++) await seed.set(`svc:lock:${i}`, `tok-${i}`, "PX", 60_000);
      const masters = seed.nodes("master");
      const before = await Promise.all(masters.map(ownConnections));
      const snap = await adapter.snapshot(never);
      expect(snap.locks).toHaveLength(300);
      const after = await Promise.all(masters.map(ownConnections));
      expect(after.map((a, i) => a - before[i])).toEqual([1, 1, 1]);
    } finally {
      await adapter.close();
      seed.disconnect();
    }
  });
});

describe("over TLS (rediss://, a CA and a client certificate the server demands)", () => {
  let server: RedisServer;
  let certs: EtcdTls;
  let dir: string;
  let tlsPort: number;
  beforeAll(async () => {
    dir = makeTempDir("redis-tls");
    certs = await makeTls(dir);
    tlsPort = await freePort();
    // The rig's plain port stays for its readiness PING and the test's own counters.
    server = await startRedis({
      args: [
        "--tls-port",
        String(tlsPort),
        "--tls-cert-file",
        certs.certFile,
        "--tls-key-file",
        certs.keyFile,
        "--tls-ca-cert-file",
        certs.caFile,
        "--tls-auth-clients",
        "yes",
      ],
    });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) removeDir(dir);
  });

  it("a snapshot reads through its own TLS connection with the connection's CA and client certificate", async () => {
    const admin = new Redis(server.url);
    const tls = { ca: certs.caFile, cert: certs.clientCertFile, key: certs.clientKeyFile };
    const adapter = new RedisAdapter("raw-t", RedisConnectionSchema.parse({ id: "raw-t", kind: "redis", url: `rediss://127.0.0.1:${tlsPort}`, tls }));
    try {
      for (let i = 0; i < 50; i++) await admin.set(`svc:lock:${i}`, `tok-${i}`, "PX", 60_000);
      const before = await ownConnections(admin);
      const snap = await adapter.snapshot(never);
      expect(snap.locks).toHaveLength(50);
      expect((await ownConnections(admin)) - before).toBe(1);
    } finally {
      await adapter.close();
      admin.disconnect();
    }
  });

  it("is refused when the server's certificate is not signed by the CA given, and without a client certificate", async () => {
    const e = (o: Partial<RawEndpoint>): RawEndpoint => ({ host: "127.0.0.1", port: tlsPort, db: 0, ...o });
    // The server's own certificate as "CA": it did not sign itself.
    await expect(RawConnection.open(e({ tls: { ca: readFileSync(certs.certFile) } }), 2_000, never)).rejects.toThrow(
      /certificate|self.signed|unable to verify/i,
    );
    await expect(
      RawConnection.open(e({ tls: { ca: readFileSync(certs.caFile) } }), 2_000, never).then(async (c) => {
        try {
          await c.pipeline().pttl("x").exec();
        } finally {
          c.close();
        }
      }),
    ).rejects.toThrow();
  });
});
