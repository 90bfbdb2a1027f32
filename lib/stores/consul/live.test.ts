// Live updates and outages against a real agent: blocking queries through the hub, their idle
// cost, an agent that restarts empty (raft index goes backwards), and an agent that is down.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startConsul, type ConsulServer } from "../../../scripts/servers/consul";
import { waitFor } from "../../../scripts/servers/process";
import { holdConsulCli, prepareConsulCapture } from "../../../scripts/capture/consul/hold";
import type { HoldProcess } from "../../../scripts/capture/hold";
import { Hub } from "../../hub/hub";
import { EventBus, type SequencedEvent } from "../../hub/bus";
import type { StoreChange } from "../../model";
import { acquire, adapterFor, BUILD_TIMEOUT_MS, createSession, signal } from "../../../test/support/consul";
import type { ConsulAdapter } from "./adapter";
import { SEMAPHORE_FLAGS } from "../../formats/consul/entry";

let consul: ConsulServer;
const procs: HoldProcess[] = [];
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  [consul] = await Promise.all([startConsul(), prepareConsulCapture()]);
}, BUILD_TIMEOUT_MS);
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await consul?.stop();
});

/** Counts every HTTP request the adapter sends (wraps its client). */
function countRequests(adapter: ConsulAdapter): { count: () => number } {
  const http = (adapter as unknown as { http: { request: (...a: unknown[]) => Promise<unknown> } }).http;
  const original = http.request.bind(http);
  let n = 0;
  http.request = (...a: unknown[]) => {
    n++;
    return original(...a);
  };
  return { count: () => n };
}

describe("blocking queries", () => {
  it("idle cost: one open blocking query per watched prefix plus one on the sessions, nothing else", async () => {
    const adapter = adapterFor(consul, { prefixes: ["locks/", "jobs/"], blockingWaitSec: 30 });
    cleanups.push(() => adapter.close());
    const opened: string[] = [];
    adapter.onBlocking = (what) => opened.push(what);
    await adapter.snapshot(signal);
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const feed = adapter.watch(ac.signal)[Symbol.asyncIterator]();
    const first = feed.next();
    await waitFor(async () => opened.length === 3, { timeoutMs: 5_000, what: "three blocking loops" });
    const counter = countRequests(adapter);
    // Each loop is parked in one request; in an idle second nothing more is sent.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(opened.sort()).toEqual(["kv:jobs/", "kv:locks/", "sessions"]);
    expect(counter.count()).toBe(0);
    expect(adapter.updateMode().mode).toBe("live");
    const sid = await createSession(consul, { TTL: "30s" });
    await acquire(consul, "jobs/nightly", sid);
    const change = (await first).value as StoreChange;
    expect(change.keys).toContain("jobs/nightly");
    await feed.return?.(undefined);
  });

  it("through the hub: a `consul lock` holder arrives as an upsert, its release as a remove, with the CLI's session", async () => {
    const bus = new EventBus();
    const events: SequencedEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const hub = new Hub("c1", adapterFor(consul), bus, { healthIntervalMs: 300 });
    hub.start();
    cleanups.push(() => hub.stop());
    await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 10_000, what: "hub live" });

    const p = holdConsulCli(consul.bin, consul.addr, "locks/live/deploy");
    procs.push(p);
    await p.waitForLine("READY", 30_000);
    const readyAt = Date.now();
    await waitFor(async () => events.some((e) => e.type === "upsert" && e.data.lock.key === "locks/live/deploy/.lock"), {
      timeoutMs: 5_000,
      what: "an upsert for the CLI lock",
    });
    const up = events.find((e) => e.type === "upsert" && e.data.lock.key === "locks/live/deploy/.lock")!;
    expect(up.type === "upsert" && up.data.lock.holders[0].owner).toMatch(/^Consul lock for/);
    expect(Date.now() - readyAt).toBeLessThan(2_000);
    await p.release();
    await waitFor(async () => events.some((e) => e.type === "remove" && e.data.key === "locks/live/deploy/.lock"), {
      timeoutMs: 5_000,
      what: "a remove once `consul lock` cleaned up",
    });
  });
});

// api.Semaphore's first contender writes its own key before the .lock: for a moment the view
// has an orphan contender (its own record, and the problem "semaphore-without-lock"). The .lock's
// arrival re-reads the directory; the contender is then the semaphore's, so its own record and
// problem must go at once, not at the next re-list (10 min).
describe("a new semaphore", () => {
  it("the orphan contender seen before the .lock arrived leaves the view once the .lock claims it", async () => {
    const hub = new Hub("c1", adapterFor(consul, { prefixes: ["sem/"] }), new EventBus(), { healthIntervalMs: 300 });
    hub.start();
    cleanups.push(() => hub.stop());
    await waitFor(async () => hub.statusEvent().mode === "live", { timeoutMs: 10_000, what: "hub live" });
    const sid = await createSession(consul, { TTL: "30s" });
    const contender = `sem/batch/${sid}`;
    const put = (path: string, body: string) => fetch(`${consul.url}/v1/kv/${path}`, { method: "PUT", body }).then((r) => r.text());
    expect(await put(`${contender}?acquire=${sid}&flags=${SEMAPHORE_FLAGS}`, JSON.stringify({ Name: "batch" }))).toBe("true");
    const orphanProblem = () => hub.currentProblems().some((p) => p.key === contender && p.code === "semaphore-without-lock");
    await waitFor(async () => !!hub.get(contender) && orphanProblem(), { timeoutMs: 10_000, what: "the orphan contender and its problem" });

    expect(await put(`sem/batch/.lock?cas=0&flags=${SEMAPHORE_FLAGS}`, JSON.stringify({ Limit: 2, Holders: { [sid]: true } }))).toBe("true");
    await waitFor(async () => hub.get("sem/batch/.lock")?.holders.length === 1, { timeoutMs: 10_000, what: "the semaphore with its holder" });
    expect(hub.get(contender)).toBeUndefined();
    expect(orphanProblem()).toBe(false);
  });
});

describe("outages", () => {
  it("agent down: reads fail as unreachable, the hub keeps the last snapshot marked stale; back (empty, lower index): re-listed", async () => {
    const own = await startConsul();
    cleanups.push(() => own.stop());
    const sid = await createSession(own, { TTL: "60s" });
    await acquire(own, "locks/outage/a", sid);
    const adapter = adapterFor(own);
    const bus = new EventBus();
    const events: SequencedEvent[] = [];
    bus.subscribe((e) => events.push(e));
    const hub = new Hub("o", adapter, bus, { healthIntervalMs: 200 });
    hub.start();
    cleanups.push(() => hub.stop());
    await waitFor(async () => hub.statusEvent().mode === "live" && !!hub.get("locks/outage/a"), { timeoutMs: 10_000, what: "hub live with the lock" });

    await own.kill9();
    await expect(adapter.snapshot(signal)).rejects.toMatchObject({ name: "ConsulError", code: "unreachable" });
    expect((await adapter.health(signal)).status).toBe("unreachable");
    await waitFor(async () => hub.statusEvent().status === "unreachable", { timeoutMs: 5_000, what: "hub unreachable" });
    expect(hub.isStale()).toBe(true);
    expect(hub.get("locks/outage/a")).toBeDefined(); // last good snapshot kept, marked stale

    await own.restart(); // a dev agent comes back empty: raft indexes start over
    await waitFor(async () => hub.statusEvent().status === "ok" && !hub.get("locks/outage/a"), { timeoutMs: 15_000, what: "re-listed after restart" });
    expect(events.some((e) => e.type === "remove" && e.data.key === "locks/outage/a")).toBe(true);
    // And it is live again on the new agent.
    const sid2 = await createSession(own, { TTL: "60s" });
    await acquire(own, "locks/outage/b", sid2);
    await waitFor(async () => !!hub.get("locks/outage/b"), { timeoutMs: 5_000, what: "a lock on the restarted agent" });
  });

  it("the watch itself reports the restart as resync (index went backwards or the query failed)", async () => {
    const own = await startConsul();
    cleanups.push(() => own.stop());
    const sid = await createSession(own, { TTL: "60s" });
    for (let i = 0; i < 20; i++) await acquire(own, `locks/idx/${i}`, sid); // push the index up
    const adapter = adapterFor(own);
    cleanups.push(() => adapter.close());
    await adapter.snapshot(signal);
    const ac = new AbortController();
    cleanups.push(() => ac.abort());
    const feed = adapter.watch(ac.signal)[Symbol.asyncIterator]();
    const next = feed.next();
    await own.kill9();
    await own.restart();
    const change = (await next).value as StoreChange;
    expect(change.resync).toBe(true);
    await feed.return?.(undefined);
  });
});
