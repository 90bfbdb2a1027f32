// Scope on Consul, against a real agent (reached through a recording TCP proxy, so the test
// sees every byte that got to it): keys with "." / ".." segments or outside the prefixes are
// never sent — "%2E%2E" survives percent-encoding and the WHATWG URL would resolve it — and a
// release acts only on the lock's key, Consul session ids and contender keys in its own
// directory. Fences are signed with this process's key, as if a decoder had a bug.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConsul, type ConsulServer } from "../../../scripts/servers/consul";
import { startFaultProxy, type FaultProxy } from "../../../scripts/servers/fault-proxy";
import { acquire, adapterFor, BUILD_TIMEOUT_MS, createSession, rawEntry, signal } from "../../../test/support/consul";
import { ConsulHttp, kvPath } from "./http";
import { ConsulConnectionSchema } from "./config";
import type { ConsulAdapter } from "./adapter";
import { aimedView } from "../../../test/support/aimed";

const aimed = (key: string, format: string, h: Record<string, string | number | null>) => aimedView("c1", key, format, h, "session");

describe("Consul scope", () => {
  let consul: ConsulServer;
  let proxy: FaultProxy;
  let adapter: ConsulAdapter;
  beforeAll(async () => {
    consul = await startConsul();
    proxy = await startFaultProxy(consul.ports.http);
    adapter = adapterFor({ url: proxy.endpoint });
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await adapter?.close();
    await proxy?.close();
    await consul?.stop();
  });

  it("dot segments and keys outside the prefixes are named, and never reach the agent", async () => {
    expect(adapter.keyProblem("locks/../../agent/self")).toMatchObject({ code: "bad_key", message: expect.stringMatching(/^key: .*"\.\." segment/) });
    expect(adapter.keyProblem("locks/./a")).toMatchObject({ code: "bad_key" });
    expect(adapter.keyProblem("locks/a\u0000b")).toMatchObject({ code: "bad_key" });
    expect(adapter.keyProblem("config/db")).toMatchObject({ code: "out_of_scope" });
    expect(adapter.keyProblem("locks/%2E%2E/x")).toBeNull(); // a literal key: sent as %252E%252E
    const { locks } = await adapter.reread(["locks/../../agent/self", "locks/%2E%2E/%2E%2E/agent/self".replace(/%2E/g, "."), "config/db"], signal);
    expect(locks).toEqual([]);
    await adapter.reread(["locks/real"], signal); // the proxy does see what is in scope
    expect(proxy.sent()).toContain("GET /v1/kv/locks/real");
    expect(proxy.sent()).not.toMatch(/agent\/self|config\/db|%2E%2E/i);
    // Even a path built by hand is refused before a socket opens if URL resolution would move it.
    const http = new ConsulHttp(ConsulConnectionSchema.parse({ id: "c1", kind: "consul", url: proxy.endpoint }));
    await expect(http.request("GET", "/v1/kv/locks/%2E%2E/%2E%2E/agent/self")).rejects.toMatchObject({ code: "bad-path", sent: false });
    await expect(http.request("GET", kvPath("locks/../../agent/self"))).rejects.toMatchObject({ code: "bad-path" });
    // An empty segment: Consul would answer 307 to another key's URL.
    expect(adapter.keyProblem("locks/a//b")).toMatchObject({ code: "bad_key", message: expect.stringMatching(/empty segment/) });
    await expect(http.request("GET", kvPath("locks/a//b"))).rejects.toMatchObject({ code: "bad-path", sent: false });
    http.close();
    expect(proxy.sent()).not.toMatch(/agent\/self/);
  });

  it("a fence aimed outside the prefixes, at a contender in another directory, or at a non-session, changes nothing", async () => {
    const sid = await createSession(consul, { Name: "scope-test", TTL: "60s" });
    expect(await acquire(consul, "config/db", sid, "primary")).toBe(true);
    const before = await rawEntry(consul, "config/db");
    const outside = aimed("config/db", "consul.lock", { t: "kv", mi: before!.ModifyIndex, li: before!.LockIndex, s: sid });
    expect(await adapter.forceRelease(outside, "delete", signal)).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/not under this connection's prefixes.*nothing was sent/),
    });
    expect(await adapter.forceRelease(outside, "destroy-session", signal)).toMatchObject({ status: "refused" });
    const sem = aimed("locks/sem/.lock", "consul.semaphore", { t: "sem", mi: 1, lim: 2, hs: JSON.stringify([["config/db", sid, before!.ModifyIndex]]) });
    expect(await adapter.forceRelease(sem, "destroy-session", signal)).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/contender key "config\/db" is not in the semaphore's directory/),
    });
    const dots = aimed("locks/a", "consul.lock", { t: "kv", mi: 1, li: 1, s: "../../agent/self" });
    expect(await adapter.forceRelease(dots, "destroy-session", signal)).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/not a Consul session id/),
    });
    const after = await rawEntry(consul, "config/db");
    expect(after).toMatchObject({ Session: sid, ModifyIndex: before!.ModifyIndex });
    expect(proxy.sent()).not.toMatch(/session\/destroy|\/v1\/txn|config\/db/);
  });
});
