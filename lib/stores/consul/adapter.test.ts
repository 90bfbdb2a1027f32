// The Consul adapter against a real `consul agent -dev` (scripts/servers/consul.ts), with locks
// taken by the REAL hashicorp/consul/api (api.Lock, api.Semaphore — the Go hold program in
// scripts/capture/consul) and the REAL `consul lock` CLI. Force-release is checked against what
// Consul and the libraries then do: who holds, LockIndex, lock-delay, the holders' own
// lost-lock detection. A missing Go toolchain fails the suite with how to install it.

import { describe, expect, it } from "vitest";
import { waitFor } from "../../../scripts/servers/process";
import { holdApiLock, holdApiPair, holdApiSemaphore, holdConsulCli, stderrValue } from "../../../scripts/capture/consul/hold";
import { LOCK_FLAGS } from "../../formats/consul/entry";
import { parseSemaphoreValue } from "../../formats/consul/semaphore";
import { decodeFence, fenceOf, withFence } from "../../fence";
import { acquire, consulFixture, createSession, lockAt, rawEntry, signal, track } from "../../../test/support/consul";

const READY_MS = 30_000;
const s = consulFixture();

describe("locks taken by the real libraries", () => {
  it("api.Lock: holder = its session (node, behavior, lock-delay, configured TTL), fencing token = LockIndex", async () => {
    const p = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t1/job", { lockDelay: "5s", value: "w1" }));
    await p.waitForLine("READY", READY_MS);
    const rec = await lockAt(s.adapter, "locks/t1/job");
    expect(rec.format).toBe("consul.lock");
    expect(rec.library).toBe("consul api.Lock");
    expect(rec.state).toBe("held");
    expect(rec.holders[0].id).toBe(stderrValue(p, "session"));
    expect(rec.holders[0].session).toMatchObject({ node: s.consul.node, behavior: "release", lockDelayMs: 5_000, ttl: "15s", name: "Consul API Lock" });
    expect(rec.fencingToken).toBe(stderrValue(p, "lockIndex"));
    expect(rec.ttlMs).toBeNull();
    expect(rec.ttlSource).toBe("session");
    expect(rec.consistency).toMatch(/^default/);
    await p.release();
    const after = await lockAt(s.adapter, "locks/t1/job");
    expect(after.state).toBe("free"); // api.Lock.Unlock leaves the key; LockIndex stays
    expect(after.fencingToken).toBe(rec.fencingToken);
  });

  it("`consul lock`: shown as <prefix>/.lock with its CLI session; gone once the command ends", async () => {
    const p = track(s, holdConsulCli(s.consul.bin, s.consul.addr, "locks/t2/deploy"));
    await p.waitForLine("READY", READY_MS);
    const rec = await lockAt(s.adapter, "locks/t2/deploy/.lock");
    expect(rec.name).toBe("locks/t2/deploy");
    expect(rec.library).toBe("consul lock (CLI)");
    expect(rec.holders[0].owner).toContain("at 'locks/t2/deploy'");
    expect(rec.fencingToken).toBe("1");
    expect(await p.release()).toBe(0);
    const snap = await s.adapter.snapshot(signal);
    expect(snap.locks.find((l) => l.key === "locks/t2/deploy/.lock")).toBeUndefined(); // CLI cleanup = Destroy
  });

  it("api.Semaphore: two holders and a waiter; the .lock's Holders are the holders", async () => {
    const ps = [0, 1, 2].map(() => track(s, holdApiSemaphore(s.bin, s.consul.addr, "locks/t3/pool", 2)));
    await waitFor(async () => ps.filter((p) => p.lines().includes("READY")).length === 2, { timeoutMs: READY_MS, what: "two holders" });
    await waitFor(async () => (await lockAt(s.adapter, "locks/t3/pool/.lock")).waiters.length === 1, { timeoutMs: READY_MS, what: "one waiter" });
    const rec = await lockAt(s.adapter, "locks/t3/pool/.lock");
    expect(rec.format).toBe("consul.semaphore");
    expect(rec.holders).toHaveLength(2);
    expect(rec.permitsFree).toBe(0);
    const raw = parseSemaphoreValue(Buffer.from((await rawEntry(s.consul, "locks/t3/pool/.lock"))!.Value!, "base64"))!;
    expect(rec.holders.map((h) => h.id).sort()).toEqual(raw.holders.sort());
    expect(rec.holders.every((h) => h.session?.behavior === "delete")).toBe(true);
  });
});

describe("force-release (a): one /v1/txn, check-index + check-session + unlock", () => {
  it("frees the key at once (no lock-delay) while the session's other key stays held; value and flags kept", async () => {
    const pair = track(s, holdApiPair(s.bin, s.consul.addr, "locks/t4/a", "locks/t4/b", { lockDelay: "20s", value: "keep-me" }));
    await pair.waitForLine("READY", READY_MS);
    const contender = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t4/a"));
    await contender.waitForLine("WAITING", READY_MS);
    const rec = await lockAt(s.adapter, "locks/t4/a");
    const sid = rec.holders[0].id;
    const plan = s.adapter.describeRelease(withFence(rec), "delete");
    expect(plan.modes).toEqual(["delete", "destroy-session"]);
    expect(plan.command).toContain('"Verb":"check-index"');
    expect(plan.command).toContain(`"Flags":${LOCK_FLAGS}`);
    expect(plan.notes.join(" ")).toContain("locks/t4/b");

    const t0 = Date.now();
    const out = await s.adapter.forceRelease(withFence(rec), "delete", signal);
    expect(out.status).toBe("released");
    // The waiting api.Lock acquires well inside the 20 s lock-delay: txn unlock applies none.
    await contender.waitForLine("READY", 10_000);
    expect(Number(stderrValue(contender, "acquiredAtMs")) - t0).toBeLessThan(10_000);
    await pair.waitForLine("LOST", 10_000); // api.Lock's monitor saw its session go from the key
    const a = (await rawEntry(s.consul, "locks/t4/a"))!;
    expect(a.Session).toBe(stderrValue(contender, "session"));
    expect(a.LockIndex).toBe(Number(rec.fencingToken) + 1);
    const b = (await rawEntry(s.consul, "locks/t4/b"))!;
    expect(b.Session).toBe(sid);
    expect(Buffer.from(b.Value!, "base64").toString()).toBe("keep-me");
  });

  it("unlock keeps the value and api.Lock's flags exactly", async () => {
    const p = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t4b/k", { value: "v-123" }));
    await p.waitForLine("READY", READY_MS);
    const rec = await lockAt(s.adapter, "locks/t4b/k");
    expect((await s.adapter.forceRelease(withFence(rec), "delete", signal)).status).toBe("released");
    const e = (await rawEntry(s.consul, "locks/t4b/k"))!;
    expect(e.Session).toBeUndefined();
    expect(e.Flags).toBe(LOCK_FLAGS);
    expect(Buffer.from(e.Value!, "base64").toString()).toBe("v-123");
  });

  it("after the holder changed (released, re-acquired: new LockIndex and ModifyIndex) → changed, nothing touched", async () => {
    const first = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t5/k"));
    await first.waitForLine("READY", READY_MS);
    const seen = await lockAt(s.adapter, "locks/t5/k");
    await first.release();
    const second = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t5/k"));
    await second.waitForLine("READY", READY_MS);
    const before = (await rawEntry(s.consul, "locks/t5/k"))!;
    expect(before.LockIndex).toBe(Number(seen.fencingToken) + 1);

    const out = await s.adapter.forceRelease(withFence(seen), "delete", signal);
    expect(out.status).toBe("changed");
    expect(out.status === "changed" && out.current?.holders[0].id).toBe(stderrValue(second, "session"));
    expect(await rawEntry(s.consul, "locks/t5/k")).toEqual(before);
    expect(second.lines()).not.toContain("LOST");
  });

  it("same session re-acquired (only the index moved): check-index alone refuses it", async () => {
    const sid = await createSession(s.consul, { TTL: "30s" });
    expect(await acquire(s.consul, "locks/t5b/k", sid, "one")).toBe(true);
    const seen = await lockAt(s.adapter, "locks/t5b/k");
    await acquire(s.consul, "locks/t5b/k", sid, "two"); // holder rewrites its value: ModifyIndex moves
    const before = (await rawEntry(s.consul, "locks/t5b/k"))!;
    expect(before.ModifyIndex).not.toBe(decodeFence(fenceOf(seen)).h.mi);
    expect((await s.adapter.forceRelease(withFence(seen), "delete", signal)).status).toBe("changed");
    expect(await rawEntry(s.consul, "locks/t5b/k")).toEqual(before);
  });

  it("a key deleted meanwhile → gone", async () => {
    const sid = await createSession(s.consul, { TTL: "30s", Behavior: "delete" });
    await acquire(s.consul, "locks/t5c/k", sid);
    const seen = await lockAt(s.adapter, "locks/t5c/k");
    await fetch(`${s.consul.url}/v1/session/destroy/${sid}`, { method: "PUT" });
    await waitFor(async () => (await rawEntry(s.consul, "locks/t5c/k")) === null, { timeoutMs: 10_000, what: "the key deleted" });
    expect((await s.adapter.forceRelease(withFence(seen), "delete", signal)).status).toBe("gone");
  });
});

describe("force-release (b): destroy the session", () => {
  it("lists every key of the session; frees them all (the lock's own by the guarded unlock: at once); a contender on the other key acquires only after the lock-delay", async () => {
    const pair = track(s, holdApiPair(s.bin, s.consul.addr, "locks/t6/a", "locks/t6/b", { lockDelay: "3s" }));
    await pair.waitForLine("READY", READY_MS);
    await s.adapter.snapshot(signal); // the adapter knows both keys (blast radius)
    const rec = await lockAt(s.adapter, "locks/t6/a");
    const sid = rec.holders[0].id;
    const plan = s.adapter.describeRelease(withFence(rec), "destroy-session");
    expect(plan.deletes).toContain("locks/t6/a");
    expect(plan.deletes).toContain("locks/t6/b");
    expect(plan.wakes).toContain("3 s");
    expect(plan.command).toContain(`/v1/session/destroy/${sid}`);

    const other = await createSession(s.consul, { TTL: "30s", LockDelay: "0s" });
    // A real api.Lock already waiting on the other key: it will be refused during the delay.
    const contender = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t6/b"));
    await contender.waitForLine("WAITING", READY_MS);
    const t0 = Date.now();
    const out = await s.adapter.forceRelease(withFence(rec), "destroy-session", signal);
    expect(out.status).toBe("released");
    expect(out.status === "released" && out.detail).toContain("locks/t6/b");
    for (const k of ["locks/t6/a", "locks/t6/b"]) expect((await rawEntry(s.consul, k))!.Session).toBeUndefined();
    await pair.waitForLine("LOST", 10_000);
    // The lock's own key was unlocked by the guarded txn first: no lock-delay on it.
    expect(await acquire(s.consul, "locks/t6/a", other)).toBe(true);
    // The destroy released the other key: Consul refuses ?acquire on it during the lock-delay.
    expect(await acquire(s.consul, "locks/t6/b", other)).toBe(false);
    // The api.Lock contender on the other key was refused meanwhile, and got it only afterwards.
    await contender.waitForLine("READY", 15_000);
    const waited = Number(stderrValue(contender, "acquiredAtMs")) - t0;
    expect(waited).toBeGreaterThanOrEqual(3_000);
    expect(waited).toBeLessThan(8_000);
  });

  it("refuses when the key is no longer held by the session seen", async () => {
    const p = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t7/k"));
    await p.waitForLine("READY", READY_MS);
    const seen = await lockAt(s.adapter, "locks/t7/k");
    await p.release();
    const q = track(s, holdApiLock(s.bin, s.consul.addr, "locks/t7/k"));
    await q.waitForLine("READY", READY_MS);
    const out = await s.adapter.forceRelease(withFence(seen), "destroy-session", signal);
    expect(out.status).toBe("changed");
    expect((await rawEntry(s.consul, "locks/t7/k"))!.Session).toBe(stderrValue(q, "session"));
  });
});

describe("force-release of a semaphore: evict the holders seen", () => {
  it("CAS-rewrites .lock without the holder, deletes its contender key; the waiter gets the permit", async () => {
    const holder = track(s, holdApiSemaphore(s.bin, s.consul.addr, "locks/t8/one", 1));
    await holder.waitForLine("READY", READY_MS);
    const waiter = track(s, holdApiSemaphore(s.bin, s.consul.addr, "locks/t8/one", 1));
    await waitFor(async () => (await lockAt(s.adapter, "locks/t8/one/.lock")).waiters.length === 1, { timeoutMs: READY_MS, what: "a waiter" });
    const rec = await lockAt(s.adapter, "locks/t8/one/.lock");
    const hid = rec.holders[0].id;
    const plan = s.adapter.describeRelease(withFence(rec), "delete");
    expect(plan.modes).toEqual(["delete", "destroy-session"]);
    expect(plan.command).toContain('"Verb":"cas"');

    expect((await s.adapter.forceRelease(withFence(rec), "delete", signal)).status).toBe("released");
    await holder.waitForLine("LOST", 10_000);
    await waiter.waitForLine("READY", 10_000);
    expect(await rawEntry(s.consul, `locks/t8/one/${hid}`)).toBeNull();
    const after = await lockAt(s.adapter, "locks/t8/one/.lock");
    expect(after.holders).toHaveLength(1);
    expect(after.holders[0].id).not.toBe(hid);
    expect(after.waiters).toEqual([]);
  });

  it("one slot: a target names one holder; only it loses its permit, the other holder keeps its, the waiter gets the freed one", async () => {
    const prefix = "locks/t8b/pool";
    const a = track(s, holdApiSemaphore(s.bin, s.consul.addr, prefix, 2, { name: "worker-a" }));
    await a.waitForLine("READY", READY_MS);
    const b = track(s, holdApiSemaphore(s.bin, s.consul.addr, prefix, 2, { name: "worker-b" }));
    await b.waitForLine("READY", READY_MS);
    const c = track(s, holdApiSemaphore(s.bin, s.consul.addr, prefix, 2, { name: "worker-c" }));
    await waitFor(async () => (await lockAt(s.adapter, `${prefix}/.lock`)).waiters.length === 1, { timeoutMs: READY_MS, what: "a waiter" });
    const rec = await lockAt(s.adapter, `${prefix}/.lock`);
    // The Go program names each contender's session (api.SemaphoreOptions.SessionName).
    const sessionOf = (r: typeof rec, name: string) => r.holders.find((h) => h.owner === name)?.id ?? "?";
    const sa = sessionOf(rec, "worker-a");
    const sb = sessionOf(rec, "worker-b");
    expect(rec.holders).toHaveLength(2);

    // The plans say which: all holders, or one named slot.
    const all = s.adapter.describeRelease(withFence(rec), "delete");
    expect(all.title).toMatch(/^Evict ALL 2 holders seen/);
    expect(all.targets?.map((t) => t.id).sort()).toEqual([sa, sb].sort());
    expect(all.targets?.find((t) => t.id === sa)?.label).toContain("worker-a");
    const one = s.adapter.describeRelease(withFence(rec), "delete", sa);
    expect(one.title).toMatch(/^Free ONE slot — worker-a \(session /);
    expect(one.title).toContain("the other 1 holder stay");
    expect(one.target).toBe(sa);
    expect(one.command).not.toContain(`${prefix}/${sb}`);
    expect(s.adapter.describeRelease(withFence(rec), "delete", "not-a-holder").title).toMatch(/^not releasable/);
    expect((await s.adapter.forceRelease(withFence(rec), "delete", signal, "not-a-holder")).status).toBe("refused");

    expect(await s.adapter.forceRelease(withFence(rec), "delete", signal, sa)).toMatchObject({ status: "released" });
    await a.waitForLine("LOST", 10_000);
    await c.waitForLine("READY", 10_000);
    expect(await rawEntry(s.consul, `${prefix}/${sa}`)).toBeNull();
    expect(await rawEntry(s.consul, `${prefix}/${sb}`)).not.toBeNull();
    const after = await lockAt(s.adapter, `${prefix}/.lock`);
    expect(after.holders.map((h) => h.owner).sort()).toEqual(["worker-b", "worker-c"]);
    expect(sessionOf(after, "worker-b")).toBe(sb);
    expect(b.lines()).not.toContain("LOST");
  });

  it("a stale .lock (another holder came and went) → changed", async () => {
    const a = track(s, holdApiSemaphore(s.bin, s.consul.addr, "locks/t9/two", 2));
    await a.waitForLine("READY", READY_MS);
    const seen = await lockAt(s.adapter, "locks/t9/two/.lock");
    const b = track(s, holdApiSemaphore(s.bin, s.consul.addr, "locks/t9/two", 2));
    await b.waitForLine("READY", READY_MS);
    const out = await s.adapter.forceRelease(withFence(seen), "delete", signal);
    expect(out.status).toBe("changed");
    expect(out.status === "changed" && out.current?.holders).toHaveLength(2);
    expect(a.lines()).not.toContain("LOST");
  });
});

describe("reads", () => {
  it("re-reading a contender key answers for its semaphore; keys outside the prefixes are never read", async () => {
    const p = track(s, holdApiSemaphore(s.bin, s.consul.addr, "locks/t10/sem", 3));
    await p.waitForLine("READY", READY_MS);
    await s.adapter.snapshot(signal);
    const rec = await lockAt(s.adapter, "locks/t10/sem/.lock");
    const contender = rec.relatedKeys![0];
    const res = await s.adapter.reread([contender], signal);
    expect(res.locks.map((l) => l.key)).toEqual(["locks/t10/sem/.lock"]);
    const sid = await createSession(s.consul, { TTL: "30s" });
    await acquire(s.consul, "elsewhere/x", sid);
    expect(await s.adapter.reread(["elsewhere/x"], signal)).toEqual({ locks: [], gone: [], problems: [] });
  });

  it("look-alikes in a real agent: unknown records and problems, the rest still shown", async () => {
    const sid = await createSession(s.consul, { TTL: "30s" });
    await fetch(`${s.consul.url}/v1/kv/locks/t11/bad/.lock?flags=16210313421097356768`, { method: "PUT", body: "{broken" });
    await fetch(`${s.consul.url}/v1/kv/locks/t11/flags/.lock?flags=7`, { method: "PUT", body: "x" });
    await acquire(s.consul, "locks/t11/good", sid);
    const snap = await s.adapter.snapshot(signal);
    expect(snap.problems.map((p) => [p.key, p.code])).toEqual(
      expect.arrayContaining([
        ["locks/t11/bad/.lock", "bad-semaphore-json"],
        ["locks/t11/flags/.lock", "wrong-flags"],
      ]),
    );
    expect(snap.locks.find((l) => l.key === "locks/t11/good")?.state).toBe("held");
  });

  it("a prefix over its bound is a named problem; the other prefixes are still read", async () => {
    const sid = await createSession(s.consul, { TTL: "30s" });
    for (const k of ["big/1", "big/2", "big/3", "small/1"]) await acquire(s.consul, k, sid);
    const bounded = (await import("../../../test/support/consul")).adapterFor(s.consul, { prefixes: ["big/", "small/"], maxKeysPerPrefix: 2 });
    try {
      const snap = await bounded.snapshot(signal);
      expect(snap.problems).toEqual([expect.objectContaining({ key: "big/", code: "prefix-too-large" })]);
      expect(snap.locks.map((l) => l.key)).toEqual(["small/1"]);
    } finally {
      await bounded.close();
    }
  });

  it("sessions view: each session with its checks, configured TTL, lock-delay and keys held", async () => {
    const pair = track(s, holdApiPair(s.bin, s.consul.addr, "locks/t12/a", "locks/t12/b", { lockDelay: "7s", name: "payments-worker" }));
    await pair.waitForLine("READY", READY_MS);
    await s.adapter.snapshot(signal);
    const view = await s.adapter.sessions(signal);
    const row = view.sessions.find((r) => r.name === "payments-worker")!;
    expect(row).toMatchObject({ node: s.consul.node, behavior: "release", ttl: "15s", lockDelayMs: 7_000, unbounded: false });
    expect(row.checks).toEqual([{ id: "serfHealth", kind: "node", status: "passing" }]);
    expect(row.keys.map((k) => k.key)).toEqual(["locks/t12/a", "locks/t12/b"]);
    expect(view.ttlNote).toMatch(/not the time left/);
  });
});
