// Faults and connection options against real agents: no cluster leader, ACLs (bad token,
// a read-only token), TLS, and the three consistency modes. Each is reported, nothing crashes.

import { afterAll, afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { startConsul, startConsulCluster, type ConsulServer } from "../../../scripts/servers/consul";
import { waitFor } from "../../../scripts/servers/process";
import { holdApiLock, prepareConsulCapture, stderrValue } from "../../../scripts/capture/consul/hold";
import { kv } from "../../../scripts/capture/consul/dump";
import { acquire, adapterFor, BUILD_TIMEOUT_MS, createSession, lockAt, signal } from "../../../test/support/consul";
import type { ConsulAdapter } from "./adapter";
import { withFence } from "../../fence";

const servers: ConsulServer[] = [];
const adapters: ConsulAdapter[] = [];
afterEach(async () => {
  for (const a of adapters.splice(0)) await a.close();
});
afterAll(async () => {
  for (const s of servers.splice(0)) await s.stop();
});
async function agent(o: Parameters<typeof startConsul>[0] = {}) {
  const s = await startConsul(o);
  servers.push(s);
  return s;
}
function adapter(c: { url: string; token?: string }, extra: Record<string, unknown> = {}) {
  const a = adapterFor(c, extra);
  adapters.push(a);
  return a;
}

describe("no cluster leader", () => {
  it(
    "a server that never had one (waiting for 2 peers): reads fail naming it, even stale ones; health cannot confirm the view",
    async () => {
      const c = await agent({ mode: "no-leader" });
      await expect(adapter(c).snapshot(signal)).rejects.toMatchObject({ name: "ConsulError", code: "no-leader" });
      // A server with no raft history refuses stale reads as well (observed on 1.22.5).
      await expect(adapter(c, { consistency: "stale" }).snapshot(signal)).rejects.toMatchObject({ code: "no-leader" });
      // Reads are not served: the health check does not confirm the view (audit2 F3).
      const h = await adapter(c).health(signal);
      expect(h.status).toBe("unreachable");
      expect(h.message).toMatch(/^cannot confirm: Consul has no cluster leader/);
      const s = await adapter(c, { consistency: "stale" }).health(signal);
      expect(s.status).toBe("unreachable");
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    "3 servers: a holder stays shown held across a leader failover; with quorum lost, stale reads answer and say no leader is known",
    async () => {
      const [cluster, bin] = await Promise.all([startConsulCluster(3), prepareConsulCapture()]);
      try {
        const leader = await cluster.leaderIndex();
        const [a, b] = [0, 1, 2].filter((i) => i !== leader).map((i) => cluster.servers[i]);
        // The holder renews its 10 s session through a server that survives.
        const p = holdApiLock(bin, a.addr, "locks/fo/job", { ttl: "10s" });
        try {
          await p.waitForLine("READY", 30_000);
          const sid = stderrValue(p, "session");
          // Consistent reads: right after a failover a default read may be served by a new leader
          // that has not applied everything yet, and a stale one by a lagging follower.
          const view = adapter(a, { consistency: "consistent" });
          expect((await lockAt(view, "locks/fo/job")).holders[0].id).toBe(sid);

          await cluster.servers[leader].kill9();
          await waitFor(async () => (await cluster.leaderIndex()) !== leader, { timeoutMs: 30_000, what: "a new leader" });
          // For more than one TTL after the failover, every read either fails (reported, e.g. during
          // the election) or shows the same holding: LockDeck never declares the session expired;
          // Consul decides that (and restarts its TTL timers on the new leader).
          let answered = 0;
          const until = Date.now() + 11_000;
          while (Date.now() < until) {
            try {
              const rec = await lockAt(view, "locks/fo/job");
              expect(rec.state).toBe("held");
              expect(rec.holders[0].id).toBe(sid);
              expect(rec.warnings).toEqual([]);
              expect(rec.ttlMs).toBeNull();
              answered++;
            } catch (err) {
              expect((err as Error).name).toBe("ConsulError");
            }
            await new Promise((r) => setTimeout(r, 250));
          }
          expect(answered).toBeGreaterThan(10);
          // (api.Lock's own monitor gives up on the first error without MonitorRetries and reports
          // LOST while Consul still has it held: that is the holder's view, not the store's.)

          await b.kill9(); // a is alone: no quorum, no leader
          await waitFor(async () => /no cluster leader/.test((await adapter(a).health(signal)).message), { timeoutMs: 30_000, what: "leader lost" });
          // Until raft on `a` has given up on the old leader, Consul may hold a read (rpc_hold_timeout)
          // and our request times out instead; the answer to wait for is "no leader".
          await waitFor(
            async () =>
              adapter(a)
                .snapshot(signal)
                .then(
                  () => false,
                  (err: { code?: string }) => err.code === "no-leader",
                ),
            { timeoutMs: 30_000, what: "reads answered with no-leader" },
          );
          const stale = await adapter(a, { consistency: "stale" }).snapshot(signal);
          expect(stale.consistency).toContain("NO KNOWN LEADER");
          expect(stale.locks.find((l) => l.key === "locks/fo/job")?.holders[0].id).toBe(sid);
        } finally {
          await p.kill();
        }
      } finally {
        await cluster.stop();
      }
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("consistency modes on a healthy agent", () => {
  it(
    "each read says how it was made: default, consistent (quorum-checked), stale (with last contact)",
    async () => {
      const c = await agent();
      const sid = await createSession(c, { TTL: "30s" });
      await acquire(c, "locks/m/a", sid);
      expect((await lockAt(adapter(c), "locks/m/a")).consistency).toMatch(/^default \(leader-served/);
      expect((await lockAt(adapter(c, { consistency: "consistent" }), "locks/m/a")).consistency).toMatch(/^consistent \(leader confirmed by a quorum\)/);
      const stale = (await lockAt(adapter(c, { consistency: "stale" }), "locks/m/a")).consistency;
      expect(stale).toMatch(/^stale \(any server may answer\) · last contact with the leader 0 ms before this read$/);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("datacenter option", () => {
  it(
    "dc= is sent on every read: the agent's own dc answers, an unknown one is an error that names it",
    async () => {
      const c = await agent();
      const sid = await createSession(c, { TTL: "30s" });
      await acquire(c, "locks/dc/a", sid);
      expect((await lockAt(adapter(c, { datacenter: "dc1" }), "locks/dc/a")).holders[0].id).toBe(sid);
      await expect(adapter(c, { datacenter: "dc-nowhere" }).snapshot(signal)).rejects.toThrow(/No path to datacenter/i);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("ACLs (default deny)", () => {
  it(
    "a bad token is 'not permitted' — never an empty list of locks",
    async () => {
      const c = await agent({ aclManagementToken: randomUUID() });
      const bad = adapter({ url: c.url, token: randomUUID() });
      await expect(bad.snapshot(signal)).rejects.toThrow(/not permitted by Consul's ACLs \(403\)/);
      // Sessions page and health name it the same way.
      await expect(bad.sessions(signal)).rejects.toMatchObject({ code: "forbidden" });
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    "a read-only token sees the locks, is told which prefix it cannot see, and a release is denied by Consul (not unknown)",
    async () => {
      const root = randomUUID();
      const c = await agent({ aclManagementToken: root });
      const sid = await createSession(c, { TTL: "30s" });
      await acquire(c, "locks/acl/a", sid, "v");
      await acquire(c, "secret/acl/b", sid, "v");
      const rules = `key_prefix "locks/" { policy = "read" }\nsession_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }`;
      await kv(c, "PUT", "/v1/acl/policy", JSON.stringify({ Name: "lockdeck-viewer", Rules: rules }));
      const token = (JSON.parse(await kv(c, "PUT", "/v1/acl/token", JSON.stringify({ Policies: [{ Name: "lockdeck-viewer" }] }))) as { SecretID: string })
        .SecretID;
      const viewer = adapter({ url: c.url, token }, { prefixes: ["locks/", "secret/"] });
      const snap = await viewer.snapshot(signal);
      expect(snap.locks.map((l) => l.key)).toEqual(["locks/acl/a"]);
      expect(snap.problems).toEqual([expect.objectContaining({ key: "secret/", code: "acl-filtered" })]);
      const rec = snap.locks[0];
      const out = await viewer.forceRelease(withFence(rec), "delete", signal);
      expect(out.status).toBe("denied");
      expect(out.status === "denied" && out.reason).toMatch(/Permission denied|not permitted/i);
      expect(JSON.parse(await kv(c, "GET", "/v1/kv/locks/acl/a")).at(0).Session).toBe(sid);
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("ACLs and the health check", () => {
  it(
    "a token that may read only keys below the prefix: the check's read of the prefix's own key is refused (403), and that is an answer: ok, not 'cannot confirm'",
    async () => {
      const root = randomUUID();
      const c = await agent({ aclManagementToken: root });
      const rules = `key_prefix "locks/app/" { policy = "read" }\nsession_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }`;
      await kv(c, "PUT", "/v1/acl/policy", JSON.stringify({ Name: "lockdeck-narrow", Rules: rules }));
      const token = (JSON.parse(await kv(c, "PUT", "/v1/acl/token", JSON.stringify({ Policies: [{ Name: "lockdeck-narrow" }] }))) as { SecretID: string })
        .SecretID;
      for (const consistency of ["default", "stale"]) {
        const h = await adapter({ url: c.url, token }, { consistency }).health(signal);
        expect(h, consistency).toMatchObject({ status: "ok", message: "" });
      }
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("ACLs and destroy-session", () => {
  it(
    "a token whose reads are filtered by Consul's ACLs cannot prove what a session holds: destroy-session is refused, the session and its hidden key stay",
    async () => {
      const root = randomUUID();
      const c = await agent({ aclManagementToken: root });
      const sid = await createSession(c, { TTL: "60s", LockDelay: "0s" });
      await acquire(c, "locks/acl2/a", sid, "v");
      await acquire(c, "secret/acl2/b", sid, "v");
      const rules = `key_prefix "locks/" { policy = "write" }\nsession_prefix "" { policy = "write" }\nnode_prefix "" { policy = "read" }`;
      await kv(c, "PUT", "/v1/acl/policy", JSON.stringify({ Name: "lockdeck-operator", Rules: rules }));
      const token = (JSON.parse(await kv(c, "PUT", "/v1/acl/token", JSON.stringify({ Policies: [{ Name: "lockdeck-operator" }] }))) as { SecretID: string })
        .SecretID;
      const operator = adapter({ url: c.url, token });
      const rec = await lockAt(operator, "locks/acl2/a");
      const out = await operator.forceRelease(withFence(rec), "destroy-session", signal);
      expect(out).toMatchObject({
        status: "refused",
        reason: expect.stringMatching(/cannot prove what session .* holds.*ACLs hid some keys.*Nothing was sent/),
      });
      expect(JSON.parse(await kv(c, "GET", `/v1/session/info/${sid}`))).toHaveLength(1);
      expect(JSON.parse(await kv(c, "GET", "/v1/kv/secret/acl2/b")).at(0).Session).toBe(sid);
      expect(JSON.parse(await kv(c, "GET", "/v1/kv/locks/acl2/a")).at(0).Session).toBe(sid);
      // The same token may still end only this lock.
      expect((await operator.forceRelease(withFence(rec), "delete", signal)).status).toBe("released");
    },
    BUILD_TIMEOUT_MS,
  );
});

describe("TLS", () => {
  it(
    "reads over HTTPS with the agent's CA; without it the certificate is refused",
    async () => {
      const c = await agent({ tls: true });
      const sid = await createSession(c, { TTL: "30s" });
      await acquire(c, "locks/tls/a", sid);
      const secure = adapter({ url: c.httpsUrl! }, { tls: { ca: c.caFile } });
      expect((await lockAt(secure, "locks/tls/a")).holders[0].id).toBe(sid);
      await expect(adapter({ url: c.httpsUrl! }).snapshot(signal)).rejects.toThrow(/UNABLE_TO_VERIFY|SELF_SIGNED|certificate/i);
    },
    BUILD_TIMEOUT_MS,
  );
});
