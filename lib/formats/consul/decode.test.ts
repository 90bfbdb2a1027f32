// The Consul decoder over KV entries captured from the real hashicorp/consul/api (api.Lock,
// api.Semaphore), the real `consul lock` CLI and raw ?acquire clients (scripts/capture/consul).

import { describe, expect, it } from "vitest";
import { decodeConsul } from "./index";
import { loadConsulFixture } from "../../../test/support/fixtures/consul";
import { LOCK_FLAGS, SEMAPHORE_FLAGS, flagsAsStrings, parseKv, type ConsulEntry } from "./entry";
import { parseSemaphoreValue } from "./semaphore";
import { decodeFence, fenceOf } from "../../fence";

function decode(name: string) {
  const f = loadConsulFixture(name);
  const res = decodeConsul(f.entries, f.sessions, { connection: "c1", consistency: "default", now: f.now });
  return { ...res, f, byKey: new Map(res.locks.map((l) => [l.key, l])) };
}

describe("Flags above 2^53 survive parsing", () => {
  it("keeps api.Lock's and api.Semaphore's flag values exact", () => {
    expect(LOCK_FLAGS).toBe("3304740253564472344");
    expect(SEMAPHORE_FLAGS).toBe("16210313421097356768");
    const raw = `[{"LockIndex":1,"Key":"a","Flags":3304740253564472344,"Value":null,"Session":"s","CreateIndex":5,"ModifyIndex":6},
      {"Key":"has \\"Flags\\":1 in it","Flags" : 16210313421097356768,"Value":"eA==","LockIndex":0,"CreateIndex":7,"ModifyIndex":7}]`;
    const [a, b] = parseKv(raw);
    expect(a.Flags).toBe(LOCK_FLAGS);
    expect(b.Flags).toBe(SEMAPHORE_FLAGS);
    expect(b.Key).toBe('has "Flags":1 in it');
    expect(JSON.parse(flagsAsStrings('{"Flags":0}'))).toEqual({ Flags: "0" });
  });
});

describe("api.Lock (hashicorp/consul/api)", () => {
  it("held key: holder is the session with its node, behavior, lock-delay and configured TTL; LockIndex is the fencing token", () => {
    const { byKey, f, problems } = decode("api-lock.json");
    expect(problems).toEqual([]);
    const l = byKey.get("capture/api-lock/payout")!;
    const s = f.sessions[0];
    expect(l.format).toBe("consul.lock");
    expect(l.library).toBe("consul api.Lock");
    expect(l.state).toBe("held");
    expect(l.holders).toHaveLength(1);
    expect(l.holders[0].id).toBe(s.ID);
    expect(l.holders[0].session).toEqual({ id: s.ID, name: "Consul API Lock", node: s.Node, behavior: "release", lockDelayMs: 5_000, ttl: "15s" });
    expect(l.fencingToken).toBe("1");
    // Consul gives the configured TTL only: no remaining time is made up.
    expect(l.ttlMs).toBeNull();
    expect(l.ttlSource).toBe("session");
    expect(l.warnings).toEqual([]);
    expect(l.raw?.[0].preview).toBe("worker-7");
    const e = f.entries.find((x) => x.Key === l.key)!;
    expect(decodeFence(fenceOf(l)).h).toEqual({ t: "kv", mi: e.ModifyIndex, li: 1, s: s.ID });
  });

  it("a key api.Lock unlocked (not destroyed) stays as a free lock, not releasable", () => {
    const { byKey } = decode("api-lock.json");
    const l = byKey.get("capture/api-lock/free")!;
    expect(l.state).toBe("free");
    expect(l.holders).toEqual([]);
    expect(l.fencingToken).toBe("1");
    expect(decodeFence(fenceOf(l)).h).toEqual({ t: "none" });
  });

  it("one session holding two keys: both records name the same session", () => {
    const { locks } = decode("api-lock-pair.json");
    expect(locks.map((l) => l.key).sort()).toEqual(["capture/pair/a", "capture/pair/b"]);
    expect(new Set(locks.map((l) => l.holders[0].id)).size).toBe(1);
    expect(locks[0].holders[0].session?.lockDelayMs).toBe(2_000);
  });
  it("each record takes its library from its own session's name and its fencing token from its own LockIndex", () => {
    const entry = (Key: string, LockIndex: number, Session: string): ConsulEntry => ({
      Key,
      Flags: LOCK_FLAGS,
      Value: null,
      Session,
      LockIndex,
      CreateIndex: 1,
      ModifyIndex: 2,
    });
    const sessions = [
      { ID: "cli-session", Name: "Consul lock for 'job' at 'p'", Node: "n1" },
      { ID: "app-session", Name: "payments worker", Node: "n1" },
    ];
    const entries = [entry("p/a", 3, "cli-session"), entry("p/b", 3, "app-session"), entry("p/c", 1500, "cli-session"), entry("p/d", 1023, "app-session")];
    const { locks } = decodeConsul(entries, sessions, { connection: "c1", consistency: "default", now: 0 });
    expect(locks.map((l) => [l.key, l.library, l.fencingToken])).toEqual([
      ["p/a", "consul lock (CLI)", "3"],
      ["p/b", "consul api.Lock", "3"],
      ["p/c", "consul lock (CLI)", "1500"],
      ["p/d", "consul api.Lock", "1023"],
    ]);
  });
});

describe("`consul lock` CLI", () => {
  it("n = 1 is api.Lock on <prefix>/.lock, named by the prefix, library from the session name", () => {
    const { locks, problems } = decode("cli-lock.json");
    expect(problems).toEqual([]);
    expect(locks).toHaveLength(1);
    const l = locks[0];
    expect(l.key).toBe("capture/cli/deploy/.lock");
    expect(l.name).toBe("capture/cli/deploy");
    expect(l.library).toBe("consul lock (CLI)");
    expect(l.holders[0].owner).toMatch(/^Consul lock for '.*' at 'capture\/cli\/deploy'$/);
    // api.Lock sends no LockDelay when it is zero: Consul's default 15 s applies.
    expect(l.holders[0].session?.lockDelayMs).toBe(15_000);
  });

  it("n = 2 is a semaphore: two holders, one waiting contender, no permit free", () => {
    const { locks, f } = decode("cli-semaphore.json");
    expect(locks).toHaveLength(1);
    const l = locks[0];
    expect(l.format).toBe("consul.semaphore");
    expect(l.library).toBe("consul lock (CLI)");
    expect(l.holders).toHaveLength(2);
    expect(l.waiters).toHaveLength(1);
    expect(l.permitsFree).toBe(0);
    expect(l.holders.every((h) => h.session?.behavior === "delete")).toBe(true);
    expect(l.relatedKeys).toHaveLength(3);
    const lockEntry = f.entries.find((e) => e.Key.endsWith("/.lock"))!;
    const holders = parseSemaphoreValue(Buffer.from(lockEntry.Value!, "base64"))!.holders;
    expect(l.holders.map((h) => h.id).sort()).toEqual([...holders].sort());
    expect(holders).not.toContain(l.waiters[0].id);
  });
});

describe("api.Semaphore", () => {
  it("holders are in Holders AND hold a contender key; the others wait; permits are counted", () => {
    const { locks, problems } = decode("api-semaphore.json");
    expect(problems).toEqual([]);
    expect(locks).toHaveLength(1);
    const l = locks[0];
    expect(l.key).toBe("capture/sem/workers/.lock");
    expect(l.name).toBe("capture/sem/workers");
    expect(l.library).toBe("consul api.Semaphore");
    expect(l.kind).toBe("semaphore");
    expect(l.state).toBe("held");
    expect(l.holders).toHaveLength(2);
    expect(l.waiters.map((w) => w.position)).toEqual([1]);
    expect(l.permitsFree).toBe(0);
    expect(l.fencingToken).toBeUndefined();
    const h = decodeFence(fenceOf(l)).h;
    expect(h.t).toBe("sem");
    expect(h.lim).toBe(2);
    expect((JSON.parse(String(h.hs)) as unknown[]).length).toBe(2);
  });

  it("a Holders entry whose session is gone is flagged, listed last and uses no permit", () => {
    const { locks, f } = decode("api-semaphore-dead-holder.json");
    const l = locks[0];
    expect(l.warnings).toContain("semaphore-dead-holder");
    expect(l.warnings).not.toContain("holder-session-dead");
    expect(l.holders).toHaveLength(2);
    const live = f.entries.find((e) => e.Session)!.Session!;
    expect(l.holders[0].id).toBe(live);
    expect(l.holders[1].owner).toMatch(/stale entry/);
    expect(l.permitsFree).toBe(2); // limit 3, one live holder
    expect(JSON.parse(String(decodeFence(fenceOf(l)).h.hs))).toEqual([[f.entries.find((e) => e.Session)!.Key, live, expect.any(Number)]]);
  });
});

describe("generic session locks (raw ?acquire)", () => {
  it("a key a session holds is a lock; a key it released is free; plain data is not a lock", () => {
    const { byKey, locks } = decode("generic-session.json");
    expect(locks.map((l) => l.key).sort()).toEqual(["capture/generic/leader", "capture/generic/was-held"]);
    const held = byKey.get("capture/generic/leader")!;
    expect(held.format).toBe("consul.session");
    expect(held.library).toBeUndefined();
    expect(held.holders[0].owner).toBe("billing-leader");
    expect(held.holders[0].session?.lockDelayMs).toBe(1_000);
    expect(held.holders[0].session?.ttl).toBe("30s");
    expect(byKey.get("capture/generic/was-held")!.state).toBe("free");
  });

  it("a session with neither TTL nor health checks is flagged: nothing ever ends it", () => {
    const f = loadConsulFixture("generic-session.json");
    const sessions = f.sessions.map((s) => ({ ...s, TTL: "", NodeChecks: [] }));
    const { locks } = decodeConsul(f.entries, sessions, { connection: "c1", consistency: "default", now: f.now });
    expect(locks.find((l) => l.key === "capture/generic/leader")!.warnings).toEqual(["no-expiry"]);
  });

  it("a holder whose session is not in the session list is flagged dead", () => {
    const f = loadConsulFixture("generic-session.json");
    const { locks } = decodeConsul(f.entries, [], { connection: "c1", consistency: "default", now: f.now });
    expect(locks.find((l) => l.key === "capture/generic/leader")!.warnings).toEqual(["holder-session-dead"]);
  });
});

describe("look-alikes that do not parse", () => {
  it("bad semaphore JSON, foreign flags on .lock, orphan contenders: unknown records + problems, never releasable", () => {
    const { byKey, problems } = decode("malformed.json");
    expect(problems.map((p) => [p.key.replace(/[0-9a-f-]{36}$/, "<sid>"), p.code]).sort()).toEqual([
      ["capture/bad/flags/.lock", "wrong-flags"],
      ["capture/bad/orphan/<sid>", "semaphore-without-lock"],
      ["capture/bad/sem/.lock", "bad-semaphore-json"],
    ]);
    for (const l of byKey.values()) {
      expect(l.state).toBe("unknown");
      expect(decodeFence(fenceOf(l)).h).toEqual({ t: "none" });
    }
    expect(byKey.get("capture/bad/sem/.lock")!.relatedKeys).toHaveLength(1);
  });

  it("hostile semaphore JSON is read as data only", () => {
    expect(parseSemaphoreValue(Buffer.from('{"Limit":2,"Holders":{"__proto__":true,"a":true}}'))?.holders).toEqual(["__proto__", "a"]);
    expect(parseSemaphoreValue(Buffer.from('{"Limit":0,"Holders":{}}'))).toBeNull();
    expect(parseSemaphoreValue(Buffer.from('{"Limit":"2"}'))).toBeNull();
    expect(parseSemaphoreValue(Buffer.from([0xff, 0xfe]))).toBeNull();
  });

  it("a binary value is previewed as hex, never as markup", () => {
    const e: ConsulEntry = {
      Key: "locks/x",
      Flags: "0",
      Value: Buffer.from([0x3c, 0xff, 0x00]).toString("base64"),
      Session: "s",
      LockIndex: 1,
      CreateIndex: 1,
      ModifyIndex: 1,
    };
    const { locks } = decodeConsul([e], [], { connection: "c1", consistency: "default", now: 0 });
    expect(locks[0].raw?.[0]).toMatchObject({ encoding: "hex", preview: "3c ff 00" });
  });
});
