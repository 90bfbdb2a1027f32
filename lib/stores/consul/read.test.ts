// The prefix read streams its answer into the parser (lib/formats/consul/stream.ts): against a
// real agent, through the fault proxy, an answer cut midway fails the read as a whole, and the
// hub keeps the last good snapshot, marked stale. Then the same read, uncut, is whole again.
// And a whole snapshot builds no raw previews, which the lock detail's re-read brings.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConsul, type ConsulServer } from "../../../scripts/servers/consul";
import { startFaultProxy, type FaultProxy } from "../../../scripts/servers/fault-proxy";
import { writeConsulLocks } from "../../../scripts/bench/consul";
import { adapterFor, BUILD_TIMEOUT_MS, signal } from "../../../test/support/consul";
import { ConsulHttp, kvPath } from "./http";
import { ConsulConnectionSchema } from "./config";
import { Hub } from "../../hub/hub";
import { EventBus } from "../../hub/bus";
import { lockDetail } from "../../api/detail";

const KEYS = 3_000;
let consul: ConsulServer;
let proxy: FaultProxy;
let raw: ConsulHttp;

beforeAll(async () => {
  consul = await startConsul();
  proxy = await startFaultProxy(consul.ports.http);
  raw = new ConsulHttp(ConsulConnectionSchema.parse({ id: "w", kind: "consul", url: consul.url, prefixes: ["locks/"] }));
  await writeConsulLocks(raw, KEYS, 10, "locks/");
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  raw?.close();
  await proxy?.close();
  await consul?.stop();
});

describe("a prefix answer cut midway", () => {
  it("fails the snapshot whole; the hub keeps the last good one, stale; uncut, the next read is whole", async () => {
    const body = (await raw.call("GET", kvPath("locks/"), { query: { recurse: true } })).body.length;
    const pass = 200_000;
    expect(body).toBeGreaterThan(2 * pass); // the cut falls well inside the body, after many entries

    const adapter = adapterFor({ url: proxy.endpoint }, { livenessCheckMs: 0 });
    const hub = new Hub("c1", adapter, new EventBus());
    try {
      expect(await hub.refresh()).toBe(true);
      expect(hub.statusEvent().lockCount).toBe(KEYS);
      expect(hub.isStale()).toBe(false);

      // The 10% "leader-" keys go: a read that applied part of an answer would show a mix.
      await raw.call("DELETE", kvPath("locks/leader-"), { query: { recurse: true } });
      const left = KEYS * 0.9;

      let down = 0;
      proxy.tap((dir, chunk) => {
        if (dir === "down") down += chunk.length;
      });
      const cut = proxy.dropReplyAfter("GET /v1/kv/locks/?recurse", { passBytes: pass, resetAfterMs: 200 });
      expect(await hub.refresh()).toBe(false);
      await cut;
      expect(down).toBeGreaterThanOrEqual(pass); // the client had part of the body when it was cut
      expect(hub.isStale()).toBe(true);
      expect(hub.statusEvent().lockCount).toBe(KEYS); // the last good snapshot, all of it
      expect(hub.get(`locks/leader-${KEYS - 1}`)).toBeDefined();

      // The adapter's own answer to a cut read: an error, never a shorter snapshot.
      const again = proxy.dropReplyAfter("GET /v1/kv/locks/?recurse", { passBytes: pass, resetAfterMs: 200 });
      await expect(adapter.snapshot(signal)).rejects.toMatchObject({ name: "ConsulError", code: "http" });
      await again;
      proxy.tap(null);

      expect(await hub.refresh()).toBe(true);
      expect(hub.isStale()).toBe(false);
      expect(hub.statusEvent().lockCount).toBe(left);
      expect(hub.get(`locks/leader-${KEYS - 1}`)).toBeUndefined();
    } finally {
      await hub.stop();
    }
  });
});

describe("raw value previews", () => {
  it("a whole snapshot builds none; the lock detail re-reads its key and shows them", async () => {
    const hub = new Hub("c1", adapterFor(consul, { livenessCheckMs: 0 }), new EventBus());
    try {
      expect(await hub.refresh()).toBe(true);
      const key = "locks/job-7";
      expect(hub.get(key)?.raw).toBeUndefined();
      const detail = await lockDetail({ hub }, key);
      // writeConsulLocks' value for key i: worker-(i % 97)
      expect(detail?.lock.raw).toEqual([expect.objectContaining({ key, preview: "worker-7", encoding: "text", size: 8 })]);
    } finally {
      await hub.stop();
    }
  });
});
