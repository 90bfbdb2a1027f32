// destroy-session against a real agent: it may only touch what the connection's prefixes cover
// (one consistent read of the whole KV proves what the session holds, else refused with nothing
// sent), it ends the exact holding seen with the same guarded txn as delete (a stale fence is
// 409 and the session lives), and only a mutating request without an answer is "unknown".
// Every request the adapter sends is recorded (and can be held back) by wrapping its ConsulHttp.

import { afterEach, describe, expect, it } from "vitest";
import { kv, putRaw } from "../../../scripts/capture/consul/dump";
import { SEMAPHORE_FLAGS } from "../../formats/consul/entry";
import { withFence } from "../../fence";
import { acquire, adapterFor, consulFixture, createSession, lockAt, rawEntry, signal } from "../../../test/support/consul";
import type { ConsulAdapter } from "./adapter";
import { ConsulError, type ConsulAnswer, type ConsulHttp, type RequestOptions } from "./http";

const s = consulFixture();
const adapters: ConsulAdapter[] = [];
afterEach(async () => {
  for (const a of adapters.splice(0)) await a.close();
});

type Before = (method: string, path: string, o: RequestOptions) => Promise<ConsulAnswer | void>;

/** A fresh adapter on the fixture's agent whose every request is recorded ("PUT /v1/txn") and first passes `before`. */
function tapped(before?: Before): { adapter: ConsulAdapter; sent: string[] } {
  const adapter = adapterFor(s.consul);
  adapters.push(adapter);
  const http = (adapter as unknown as { http: ConsulHttp }).http;
  const request = http.request.bind(http);
  const sent: string[] = [];
  http.request = async (method, path, o = {}) => {
    sent.push(`${method} ${path}`);
    return (await before?.(method, path, o)) ?? request(method, path, o);
  };
  return { adapter, sent };
}

const writes = (sent: string[]) => sent.filter((r) => !r.startsWith("GET "));

async function sessionAlive(sid: string): Promise<boolean> {
  const info = JSON.parse((await kv(s.consul, "GET", `/v1/session/info/${sid}`)) || "null") as unknown[] | null;
  return !!info?.length;
}

describe("destroy-session stays inside the prefixes", () => {
  it("the session also holds a key outside the prefixes (taken after the operator looked): refused, counted and not named, nothing sent, every key and the session stay", async () => {
    const sid = await createSession(s.consul, { Name: "worker-out", TTL: "60s", Behavior: "delete", LockDelay: "0s" });
    expect(await acquire(s.consul, "locks/ds1/job", sid, "v")).toBe(true);
    const { adapter, sent } = tapped();
    const rec = await lockAt(adapter, "locks/ds1/job");
    expect(await acquire(s.consul, "service/payments/leader", sid, "p")).toBe(true);

    const out = await adapter.forceRelease(withFence(rec), "destroy-session", signal);
    expect(out).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/^mode: session .* also holds 1 key\(s\) outside this connection's prefixes \(locks\/; not named here\).*Nothing was sent/),
    });
    expect(writes(sent)).toEqual([]);
    expect(JSON.stringify(out)).not.toContain("service/payments");
    expect((await rawEntry(s.consul, "service/payments/leader"))?.Session).toBe(sid);
    expect((await rawEntry(s.consul, "locks/ds1/job"))?.Session).toBe(sid);
    expect(await sessionAlive(sid)).toBe(true);
  });

  it("a normal destroy: the guarded unlock, then the destroy; the outcome lists every key the session held at the check, one taken after the operator looked too", async () => {
    const sid = await createSession(s.consul, { Name: "worker-in", TTL: "60s", LockDelay: "0s" });
    expect(await acquire(s.consul, "locks/ds2/a", sid, "keep")).toBe(true);
    const { adapter, sent } = tapped();
    const rec = await lockAt(adapter, "locks/ds2/a");
    const plan = adapter.describeRelease(withFence(rec), "destroy-session");
    expect(plan.title).toMatch(/if everything it holds is under the prefixes, unlocks locks\/ds2\/a with the guarded \/v1\/txn/);
    expect(plan.command).toMatch(/"Verb":"check-index".*--fail && curl .*\/v1\/session\/destroy\//);
    expect(plan.notes.join(" ")).toMatch(/reads the whole KV once.*not conditional/);
    expect(await acquire(s.consul, "locks/ds2/late", sid)).toBe(true);

    const out = await adapter.forceRelease(withFence(rec), "destroy-session", signal);
    expect(out.status).toBe("released");
    const detail = out.status === "released" ? (out.detail ?? "") : "";
    expect(detail).toContain('held 2 key(s), all under the prefixes: "locks/ds2/a", "locks/ds2/late"');
    expect(detail).toMatch(/^unlocked locks\/ds2\/a .*; destroyed session /);
    expect(writes(sent)).toEqual(["PUT /v1/txn", `PUT /v1/session/destroy/${sid}`]);
    expect(await sessionAlive(sid)).toBe(false);
    const a = (await rawEntry(s.consul, "locks/ds2/a"))!;
    expect(a.Session).toBeUndefined();
    expect(Buffer.from(a.Value!, "base64").toString()).toBe("keep");
    expect((await rawEntry(s.consul, "locks/ds2/late"))?.Session).toBeUndefined();
  });
});

describe("destroy-session after the guarded release", () => {
  it("the destroy fails (500) or gets no answer: still released — the exact holding is gone — and the detail says the destroy did not happen for sure", async () => {
    for (const [how, answer] of [
      ["failed", "500"],
      ["got no clear answer", "timeout"],
    ] as const) {
      const sid = await createSession(s.consul, { TTL: "60s", LockDelay: "0s" });
      const key = `locks/ds7/${answer}`;
      expect(await acquire(s.consul, key, sid)).toBe(true);
      const { adapter, sent } = tapped(async (method, path) => {
        if (!path.startsWith("/v1/session/destroy/")) return;
        if (answer === "timeout") throw new ConsulError("timeout", "no answer within 10000 ms", true);
        const meta = { index: null, knownLeader: null, lastContactMs: null, effective: null, filtered: false };
        return { status: 500, body: Buffer.from("rpc error"), meta };
      });
      const rec = await lockAt(adapter, key);
      const out = await adapter.forceRelease(withFence(rec), "destroy-session", signal);
      expect(out).toMatchObject({ status: "released", detail: expect.stringContaining(`then destroying session ${sid} ${how}`) });
      expect(writes(sent)).toEqual(["PUT /v1/txn", `PUT /v1/session/destroy/${sid}`]);
      expect((await rawEntry(s.consul, key))?.Session).toBeUndefined();
      expect(await sessionAlive(sid)).toBe(true); // the destroy never reached the agent here
    }
  });
});

describe("destroy-session ends only the exact holding seen", () => {
  it("semaphore: a holder that gave its slot back and queued again (same contender key, same session) → 409 changed, the session lives", async () => {
    const dir = "locks/ds3/pool";
    const mk = (name: string) => createSession(s.consul, { Name: name, TTL: "60s", Behavior: "delete", LockDelay: "0s" });
    const [a, b] = [await mk("sem-a"), await mk("sem-b")];
    expect(await putRaw(s.consul, `${dir}/${a}`, "a", SEMAPHORE_FLAGS, a)).toBe(true);
    expect(await putRaw(s.consul, `${dir}/${b}`, "b", SEMAPHORE_FLAGS, b)).toBe(true);
    await kv(s.consul, "PUT", `/v1/kv/${dir}/.lock?cas=0&flags=${SEMAPHORE_FLAGS}`, JSON.stringify({ Limit: 2, Holders: { [a]: true, [b]: true } }));
    const { adapter, sent } = tapped();
    const rec = await lockAt(adapter, `${dir}/.lock`);
    expect(rec.holders.map((h) => h.id).sort()).toEqual([a, b].sort());

    // a gives its slot back (cas .lock without it) and queues again: its contender key re-created.
    const lockNow = (await rawEntry(s.consul, `${dir}/.lock`))!;
    await kv(s.consul, "PUT", `/v1/kv/${dir}/.lock?cas=${lockNow.ModifyIndex}&flags=${SEMAPHORE_FLAGS}`, JSON.stringify({ Limit: 2, Holders: { [b]: true } }));
    await kv(s.consul, "DELETE", `/v1/kv/${dir}/${a}`);
    expect(await putRaw(s.consul, `${dir}/${a}`, "a", SEMAPHORE_FLAGS, a)).toBe(true);

    const out = await adapter.forceRelease(withFence(rec), "destroy-session", signal, a);
    expect(out.status).toBe("changed");
    expect(writes(sent)).toEqual([]);
    expect(await sessionAlive(a)).toBe(true);
    expect((await rawEntry(s.consul, `${dir}/${a}`))?.Session).toBe(a);
  });

  it("the same session releases and re-acquires the key just before the release is sent (LockIndex 1 → 2): 409 changed, the session lives", async () => {
    const sid = await createSession(s.consul, { TTL: "60s", Behavior: "delete", LockDelay: "0s" });
    expect(await acquire(s.consul, "locks/ds4/k", sid, "v")).toBe(true);
    let raced = false;
    // Held back at the first write the adapter sends, whatever it is: the re-acquire lands first.
    const { adapter, sent } = tapped(async (method) => {
      if (method === "GET" || raced) return;
      raced = true;
      await kv(s.consul, "PUT", `/v1/kv/locks/ds4/k?release=${sid}`);
      expect(await acquire(s.consul, "locks/ds4/k", sid, "v")).toBe(true);
    });
    const rec = await lockAt(adapter, "locks/ds4/k");
    expect(rec.fencingToken).toBe("1");

    const out = await adapter.forceRelease(withFence(rec), "destroy-session", signal);
    expect(raced).toBe(true);
    expect(out.status).toBe("changed");
    expect(writes(sent)).toEqual(["PUT /v1/txn"]);
    expect(await sessionAlive(sid)).toBe(true);
    expect(await rawEntry(s.consul, "locks/ds4/k")).toMatchObject({ Session: sid, LockIndex: 2 });
  });
});

describe("a release whose reads fail sent nothing: refused, never unknown", () => {
  it("a key with an empty segment (locks//x, which Consul 307-redirects) is a bad_key, refused before any request, in both modes", async () => {
    const key = "locks/ds5//x";
    const sid = await createSession(s.consul, { TTL: "60s", LockDelay: "0s" });
    await kv(s.consul, "PUT", "/v1/txn", JSON.stringify([{ KV: { Verb: "lock", Key: key, Value: "eA==", Session: sid } }]));
    const { adapter, sent } = tapped();
    expect(adapter.keyProblem(key)).toMatchObject({ code: "bad_key", message: expect.stringMatching(/^key: .*empty segment/) });
    const rec = await lockAt(adapter, key); // listed from the prefix's ?recurse
    sent.length = 0;
    for (const mode of ["delete", "destroy-session"] as const) {
      const out = await adapter.forceRelease(withFence(rec), mode, signal);
      expect(out).toMatchObject({ status: "refused", reason: expect.stringMatching(/^key: "locks\/ds5\/\/x" has an empty segment.*nothing was sent$/) });
    }
    expect(sent).toEqual([]);
    // Read back without its URL (which Consul would redirect): the prefix's ?recurse.
    const entries = JSON.parse(await kv(s.consul, "GET", "/v1/kv/locks/ds5/?recurse&consistent")) as Array<{ Key: string; Session?: string }>;
    expect(entries.find((e) => e.Key === key)?.Session).toBe(sid);
  });

  it("Consul answers a read before the release with an error (500): refused, nothing was sent — in both modes", async () => {
    const sid = await createSession(s.consul, { TTL: "60s", LockDelay: "0s" });
    expect(await acquire(s.consul, "locks/ds6/k", sid)).toBe(true);
    let failReads = false;
    const { adapter, sent } = tapped(async (method, path) => {
      if (!failReads || method !== "GET" || !path.startsWith("/v1/kv/")) return;
      const meta = { index: null, knownLeader: null, lastContactMs: null, effective: null, filtered: false };
      return { status: 500, body: Buffer.from("rpc error: No cluster leader"), meta };
    });
    const rec = await lockAt(adapter, "locks/ds6/k");
    failReads = true;
    for (const mode of ["delete", "destroy-session"] as const) {
      const out = await adapter.forceRelease(withFence(rec), mode, signal);
      expect(out).toMatchObject({ status: "refused", reason: expect.stringMatching(/nothing was sent: Consul has no cluster leader \(500\)/) });
    }
    expect(writes(sent)).toEqual([]);
    expect((await rawEntry(s.consul, "locks/ds6/k"))?.Session).toBe(sid);
  });
});
