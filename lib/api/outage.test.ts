// A store outage, end to end through the registry (hub, recorder, audit, release flow) against
// a real redis-server that is killed (kill -9) and restarted empty, as a Redis without
// persistence comes back. While it is down: one age everywhere, counted from the last
// confirmation (not the first snapshot); a release needs the age acknowledged. After: the
// outage is a marked gap in history and on the overview, and the holdings that vanished in it
// are "lost during outage" — never "released". A release answer says who holds the lock now.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { waitFor } from "../../scripts/servers/process";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import type { Actor } from "../auth/guard";
import { requestRelease } from "./release";
import { goneLock, lockDetail } from "./detail";
import { overviewAnswer } from "./overview";
import { lockHistory, window } from "../history/query";
import { fenceOf } from "../fence";

const ana: Actor = { name: "ana", role: "operator", method: "session" };

describe("a store outage (real redis-server killed and restarted empty)", () => {
  let server: RedisServer;
  let client: Redis;
  let reg: Registry;

  beforeAll(async () => {
    server = await startRedis({ notifyKeyspaceEvents: "KA" });
    client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    reg = new Registry(
      ConfigSchema.parse({
        connections: [
          { id: "r", kind: "redis", url: server.url, notifications: "use" },
          // Reads time out well within a pause (the pause test).
          { id: "rp", kind: "redis", url: server.url, notifications: "use", commandTimeoutMs: 1_000 },
        ],
        dataDir: mkdtempSync(path.join(tmpdir(), "ld-outage-")),
      }),
    );
  });
  afterAll(async () => {
    for (const c of reg.connections.values()) await c.hub.stop();
    await reg.history?.stop();
    client.disconnect();
    await server.stop();
  });

  it("ages, the acknowledgement, the gap and the lost holdings", async () => {
    const hub = reg.get("r").hub;
    await waitFor(async () => hub.statusEvent().mode === "live" && reg.history!.connections.get("r")?.mode === "live", { timeoutMs: 15_000, what: "live" });
    const firstSnapshot = Date.parse(hub.statusEvent().observedAt!);
    // Live and quiet: nothing changes, yet the confirmation keeps moving (no frozen numbers).
    const c1 = Date.parse(hub.freshness().confirmedAt!);
    await waitFor(async () => Date.parse(hub.freshness().confirmedAt!) >= c1 + 2_500, { timeoutMs: 8_000, what: "a live confirmation" });
    expect(hub.freshness()).toMatchObject({ confirmedBy: "live-feed", stale: false });
    expect(hub.statusEvent().observedAt).toBe(new Date(firstSnapshot).toISOString());

    await client.set("lock:outage:a", "tok-a-0123456789", "PX", 60_000); // long TTL: still valid when Redis dies
    await client.set("lock:outage:b", "tok-b-0123456789"); // no expiry
    await client.set("lock:outage:c", "tok-c-0123456789", "PX", 2_500); // runs out during the outage
    await waitFor(async () => ["a", "b", "c"].every((k) => hub.get(`lock:outage:${k}`)), { timeoutMs: 5_000, what: "the three locks" });

    // Kill it. The view is stale from the last confirmation on.
    const lastOk = Date.parse(hub.freshness().confirmedAt!);
    await server.kill9();
    await waitFor(async () => hub.statusEvent().status === "unreachable", { timeoutMs: 10_000, what: "unreachable" });
    const f = hub.freshness();
    expect(f.stale).toBe(true);
    expect(Date.parse(f.outageSince!)).toBeGreaterThanOrEqual(lastOk);
    expect(Date.parse(f.outageSince!) - firstSnapshot).toBeGreaterThan(2_000);
    expect(f.staleAgeMs!).toBeLessThan(Date.parse(f.now) - firstSnapshot - 2_000);
    // One age, one source: the connections list, the locks page and the lock page agree.
    const listed = reg
      .list()
      .find((c) => c.id === "r")!
      .hub.statusEvent();
    const detail = (await lockDetail(reg.get("r"), "lock:outage:a"))!;
    expect(detail.confirmedAt).toBe(f.confirmedAt);
    expect(listed.confirmedAt).toBe(f.confirmedAt);
    expect(Math.abs(detail.staleAgeMs! - (Date.parse(detail.now) - Date.parse(f.confirmedAt!)))).toBe(0);

    // A release on the stale view: refused until the age is acknowledged (428, naming the field)…
    const a = hub.get("lock:outage:a")!;
    const body = { key: a.key, fence: fenceOf(a), reason: "INC-42 outage", mode: "delete" as const };
    await expect(requestRelease(reg, "r", body, ana)).rejects.toMatchObject({ status: 428, code: "stale_ack_required", extra: { field: "staleAckMs" } });
    await waitFor(async () => hub.freshness().staleAgeMs! > 3_000, { timeoutMs: 10_000, what: "the view 3 s old" });
    await expect(requestRelease(reg, "r", { ...body, staleAckMs: 500 }, ana)).rejects.toMatchObject({ status: 428 });
    expect(reg.audit.read({ connection: "r" })[0]).toMatchObject({ phase: "outcome", outcome: "refused" });
    // …and with it, the store still cannot be reached: nothing is sent.
    await expect(requestRelease(reg, "r", { ...body, staleAckMs: hub.freshness().staleAgeMs! }, ana)).rejects.toMatchObject({ status: 503 });

    // Back, empty (no persistence). Acknowledged right away, the release goes to the store,
    // whose answer is "gone": the fence protected it, nothing was deleted.
    await server.restart();
    const ack = hub.freshness().staleAgeMs ?? 0;
    const after = await requestRelease(reg, "r", { ...body, staleAckMs: ack }, ana);
    expect(after.kind === "done" && after.outcome.status).toBe("gone");
    expect(after.kind === "done" && after.after.state).toMatch(/gone|unknown/);
    await waitFor(async () => hub.statusEvent().status === "ok" && !hub.get("lock:outage:b"), { timeoutMs: 15_000, what: "re-listed after the restart" });
    const recoveredAt = Date.now();

    // History: a marked gap, and the three holdings lost in it (not released, not expired).
    const rec = reg.history!;
    await waitFor(async () => (await rec.reader()!.gaps({ connection: "r", from: lastOk - 1, to: Date.now() + 1 })).some((g) => g.to !== null), {
      timeoutMs: 5_000,
      what: "the gap closed in history",
    });
    await rec.flush();
    const store = rec.reader()!;
    const gaps = await store.gaps({ connection: "r", from: lastOk - 1, to: Date.now() + 1 });
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ connection: "r", kind: "store-unreachable" });
    expect(gaps[0].from).toBeGreaterThanOrEqual(lastOk);
    expect(gaps[0].to!).toBeLessThanOrEqual(recoveredAt);
    const ends = await store.events({ connection: "r", from: lastOk - 60_000, to: Date.now() + 1, kinds: ["released", "expired", "force-released", "lost"] });
    const byKey = Object.fromEntries(ends.map((e) => [e.key, e]));
    expect(byKey["lock:outage:a"]).toMatchObject({ kind: "lost", at: gaps[0].from, cause: "unknown" });
    expect(byKey["lock:outage:b"]).toMatchObject({ kind: "lost", at: gaps[0].from, cause: "unknown" });
    expect(byKey["lock:outage:c"]).toMatchObject({ kind: "lost", at: gaps[0].from, cause: "ttl-ran-out" });

    // The lock page (its bars end in the gap, the gap is marked), the gone lock's 404, the overview.
    const h = await lockHistory(store, "r", "lock:outage:a", window({ from: lastOk - 60_000, to: Date.now() + 1 }, Date.now()), rec.liveView());
    expect(h.segments.at(-1)).toMatchObject({ endKind: "lost", end: gaps[0].from });
    expect(h.gaps.map((g) => g.id)).toEqual([gaps[0].id]);
    expect(h.lost).toBe(1);
    expect(await goneLock(reg, "r", "lock:outage:b")).toMatchObject({ last: { kind: "lost", cause: "unknown" } });
    const ov = await overviewAnswer(reg);
    expect(ov.recent.some((e) => e.kind === "outage" && e.connection === "r" && e.to !== null)).toBe(true);
    expect(
      ov.recent
        .filter((e) => e.kind === "lost" && e.connection === "r")
        .map((e) => e.key)
        .sort(),
    ).toEqual(["lock:outage:a", "lock:outage:b", "lock:outage:c"]);
    expect(hub.freshness().stale).toBe(false);
  }, 90_000);

  it("a store that stops answering (CLIENT PAUSE) makes the view stale; a read that timed out is never taken for a release", async () => {
    const hub = reg.get("rp").hub;
    const client = new Redis(server.url);
    try {
      await client.set("lock:paused", "tok-p-0123456789", "PX", 60_000);
      await waitFor(async () => hub.get("lock:paused") !== undefined && !hub.freshness().stale, { timeoutMs: 10_000, what: "the lock" });
      const t0 = Date.now();
      await client.call("CLIENT", "PAUSE", "6000", "ALL");
      // The lock page re-reads the key while Redis does not answer (the read times out).
      await lockDetail(reg.get("rp"), "lock:paused");
      await waitFor(async () => hub.freshness().stale, { timeoutMs: 10_000, what: "the view stale" });
      expect(hub.get("lock:paused")).toBeDefined();
      await waitFor(async () => !hub.freshness().stale, { timeoutMs: 20_000, what: "fresh again after the pause" });
      expect(hub.get("lock:paused")).toBeDefined();
      // Back but slow (its last reads took seconds): "degraded", yet the gap is closed — changes
      // from here on are seen, not lost in a gap.
      expect(reg.history!.connections.get("rp")?.outage).toBeNull();
      await reg.history!.flush();
      const ends = await reg
        .history!.reader()!
        .events({ connection: "rp", key: "lock:paused", from: t0 - 1_000, to: Date.now() + 1, kinds: ["released", "expired", "force-released", "lost"] });
      expect(ends).toEqual([]);
    } finally {
      client.disconnect();
    }
  }, 40_000);

  it("after a release the answer names who holds the lock now (a waiter that took over), or that it is free", async () => {
    const hub = reg.get("r").hub;
    const client = new Redis(server.url);
    await client.set("lock:after", "tok-1-0123456789", "PX", 60_000);
    await waitFor(async () => hub.get("lock:after") !== undefined && !hub.freshness().stale, { timeoutMs: 10_000, what: "the lock" });
    const lock = hub.get("lock:after")!;
    const done = await requestRelease(reg, "r", { key: lock.key, fence: fenceOf(lock), reason: "INC-43 stuck", mode: "delete" }, ana);
    expect(done.kind === "done" && done.outcome.status).toBe("released");
    expect(done.kind === "done" && done.after).toMatchObject({ state: "gone", holders: [] });
    // A lock that someone else holds right after: the answer names the new holder.
    await client.set("lock:after2", "tok-2-0123456789", "PX", 60_000);
    await waitFor(async () => hub.get("lock:after2") !== undefined, { timeoutMs: 10_000, what: "lock:after2" });
    const l2 = hub.get("lock:after2")!;
    await client.set("lock:after2", "tok-3-0123456789", "PX", 60_000); // taken over before the release lands
    const changed = await requestRelease(reg, "r", { key: l2.key, fence: fenceOf(l2), reason: "INC-44", mode: "delete" }, ana);
    expect(changed.kind === "done" && changed.outcome.status).toBe("changed");
    expect(changed.kind === "done" && changed.after).toMatchObject({ state: "held", holders: [{ id: "tok-3-0123456789" }] });
    // The gone lock's page: force-released by ana, with the reason.
    await reg.history!.flush();
    await waitFor(async () => (await goneLock(reg, "r", "lock:after")).last?.kind === "force-released", {
      timeoutMs: 5_000,
      what: "history of the release",
    }).catch(async (e) => {
      const evs = await reg.history!.reader()!.events({ key: "lock:after", from: 0, to: Date.now() + 1 });
      throw new Error(`${e.message}: recorded ${JSON.stringify(evs)}`);
    });
    expect(await goneLock(reg, "r", "lock:after")).toMatchObject({
      last: { kind: "force-released" },
      release: { actor: "ana", reason: "INC-43 stuck", outcome: "applied" },
    });
    client.disconnect();
  }, 30_000);
});
