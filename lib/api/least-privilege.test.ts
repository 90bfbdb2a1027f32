// Least privilege (reliability plan row 38) on every store: LockDeck runs with a viewer
// credential of the store itself — a Redis ACL user with read commands only, an etcd user
// whose role can only read the lock prefix, a ZooKeeper digest without DELETE on the lock
// directory, a Consul token with read policies. Viewing works; a release reaches the store,
// which says no: the API answers 403 store_denied with the store's own words, nothing
// changes, and the audit trail records the denial.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { Etcd3 } from "etcd3";
import { randomUUID } from "node:crypto";
import { startRedis } from "../../scripts/servers/redis";
import { etcdctl, startEtcd } from "../../scripts/servers/etcd";
import { startZooKeeper } from "../../scripts/servers/zookeeper";
import { startConsul } from "../../scripts/servers/consul";
import { kv } from "../../scripts/capture/consul/dump";
import { waitFor } from "../../scripts/servers/process";
import { openRegistry, closeRegistry } from "../../scripts/servers/registry";
import type { Registry } from "../registry";
import { CreateMode, ZkSession, digestAcl } from "../stores/zookeeper/client";
import type { LockRecord } from "../model";
import { requestRelease } from "./release";
import { releaseResponse } from "./release-response";
import type { Actor } from "../auth/guard";
import { fenceOf } from "../fence";

const ana: Actor = { name: "ana", role: "operator", method: "session" };

interface Case {
  name: string;
  /** Starts the store with a viewer credential; returns LockDeck's connection and a held lock. */
  setUp(): Promise<{ connection: Record<string, unknown>; key: string; stillHeld(): Promise<boolean>; stop(): Promise<void> }>;
  /** The store's own words for "no". */
  says: RegExp;
}

const redis: Case = {
  name: "Redis (ACL user with read commands only)",
  says: /NOPERM this user has no permissions to run the 'eval' command/,
  async setUp() {
    const s = await startRedis();
    const admin = new Redis(s.url);
    await admin.call("ACL", "SETUSER", "lockdeck-view", "on", ">view-pw", "~*", "resetchannels", "-@all", "+@read", "+@connection", "+info", "+client|setname");
    await admin.set("lock:lp", "tok-lp-0123456789abcdef", "PX", 120_000);
    return {
      connection: { kind: "redis", url: s.url, username: "lockdeck-view", password: "view-pw", notifications: "off", pollIntervalMs: 500 },
      key: "lock:lp",
      stillHeld: async () => (await admin.get("lock:lp")) === "tok-lp-0123456789abcdef",
      stop: async () => (admin.disconnect(), await s.stop()),
    };
  },
};

const etcd: Case = {
  name: "etcd (user with a read-only role)",
  says: /permission denied/,
  async setUp() {
    const s = await startEtcd();
    const as = (user: string, args: string[]) => etcdctl(s.endpoint, [`--user=${user}`, ...args]);
    await etcdctl(s.endpoint, ["user", "add", "root", "--new-user-password=root-pw"]);
    await etcdctl(s.endpoint, ["user", "grant-role", "root", "root"]);
    await etcdctl(s.endpoint, ["auth", "enable"]);
    await as("root:root-pw", ["role", "add", "lockdeck-view"]);
    await as("root:root-pw", ["role", "grant-permission", "lockdeck-view", "read", "locks/", "--prefix=true"]);
    await as("root:root-pw", ["user", "add", "lockdeck", "--new-user-password=view-pw"]);
    await as("root:root-pw", ["user", "grant-role", "lockdeck", "lockdeck-view"]);
    const root = new Etcd3({ hosts: s.endpoint, auth: { username: "root", password: "root-pw" } });
    const lease = root.lease(120, { autoKeepAlive: true });
    const id = await lease.grant();
    const holderKey = `locks/lp/${BigInt(id).toString(16)}`;
    await lease.put(holderKey).value("");
    return {
      connection: { kind: "etcd", endpoints: [s.endpoint], username: "lockdeck", password: "view-pw", prefixes: ["locks/"] },
      key: "locks/lp/",
      stillHeld: async () => (await root.get(holderKey).exec()).kvs.length === 1,
      stop: async () => (root.close(), await s.stop()),
    };
  },
};

const zookeeper: Case = {
  name: "ZooKeeper (digest with READ only on the lock directory)",
  says: /NO_AUTH/,
  async setUp() {
    const s = await startZooKeeper();
    const admin = new ZkSession({ connectString: s.address, sessionTimeoutMs: 30_000, auth: [{ scheme: "digest", credentials: "admin:admin-pw" }] }, 10_000);
    await admin.connected();
    const acl = [...digestAcl("admin", "admin-pw"), ...digestAcl("lockdeck", "view-pw", "read")];
    await admin.create("/locks", Buffer.alloc(0), CreateMode.PERSISTENT);
    await admin.create("/locks/lp", Buffer.alloc(0), CreateMode.PERSISTENT, acl);
    // ZooKeeper checks DELETE on the parent: LockDeck's digest has READ there, no DELETE.
    const node = `/locks/lp/_c_${randomUUID()}-lock-0000000000`;
    await admin.create(node, Buffer.alloc(0), CreateMode.EPHEMERAL, acl);
    return {
      connection: { kind: "zookeeper", connectString: s.address, digest: "lockdeck:view-pw", roots: ["/locks"] },
      key: "/locks/lp",
      stillHeld: async () => (await admin.exists(node)) !== null,
      stop: async () => (admin.close(), await s.stop()),
    };
  },
};

const consul: Case = {
  name: "Consul (token with read policies)",
  says: /Permission denied/i,
  async setUp() {
    const root = randomUUID();
    const s = await startConsul({ aclManagementToken: root });
    const rules = `key_prefix "locks/" { policy = "read" }\nsession_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }`;
    await kv(s, "PUT", "/v1/acl/policy", JSON.stringify({ Name: "lockdeck-viewer", Rules: rules }));
    const token = (JSON.parse(await kv(s, "PUT", "/v1/acl/token", JSON.stringify({ Policies: [{ Name: "lockdeck-viewer" }] }))) as { SecretID: string })
      .SecretID;
    const session = (JSON.parse(await kv(s, "PUT", "/v1/session/create", JSON.stringify({ TTL: "60s" }))) as { ID: string }).ID;
    expect((await kv(s, "PUT", `/v1/kv/locks/lp?acquire=${session}`, "holder")).trim()).toBe("true");
    return {
      connection: { kind: "consul", url: s.url, token, prefixes: ["locks/"] },
      key: "locks/lp",
      stillHeld: async () => (JSON.parse(await kv(s, "GET", "/v1/kv/locks/lp")) as Array<{ Session?: string }>)[0]?.Session === session,
      stop: () => s.stop(),
    };
  },
};

describe.each([redis, etcd, zookeeper, consul])("least privilege: $name", (store) => {
  let env: Awaited<ReturnType<Case["setUp"]>>;
  let reg: Registry;

  beforeAll(async () => {
    env = await store.setUp();
    reg = openRegistry([{ id: "lp", ...env.connection }]);
  }, 120_000);
  afterAll(async () => {
    await closeRegistry(reg);
    await env?.stop();
  });

  it("viewing works; a release is denied by the store (403 store_denied, its own words), nothing changes, the audit says so", async () => {
    let lock: LockRecord | undefined;
    await waitFor(async () => (lock = reg.get("lp").hub.get(env.key))?.state === "held", {
      timeoutMs: 20_000,
      what: `the viewer credential to show ${env.key} held (${JSON.stringify(reg.get("lp").hub.statusEvent().message)})`,
    });
    expect(lock!.holders).toHaveLength(1);

    const answer = await requestRelease(reg, "lp", { key: lock!.key, fence: fenceOf(lock!), reason: "least privilege drill", mode: "delete" }, ana);
    expect(answer.kind === "done" && answer.outcome.status).toBe("denied");
    const res = releaseResponse(answer);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("store_denied");
    expect(body.error.message).toMatch(store.says);
    expect(body.error.message).toMatch(/Nothing was changed/);
    expect(await env.stillHeld()).toBe(true);
    const outcome = reg.audit.read({ connection: "lp" }).find((e) => e.phase === "outcome")!;
    expect(outcome).toMatchObject({ outcome: "denied", actor: "ana", key: env.key });
    expect(outcome.detail).toMatch(store.says);
  });
});
