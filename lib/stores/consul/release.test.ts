// The /v1/txn bodies and curl lines, as pure builders (their effect on a real agent is in
// adapter.test.ts).

import { describe, expect, it } from "vitest";
import { LOCK_FLAGS, SEMAPHORE_FLAGS } from "../../formats/consul/entry";
import { evictOps, semaphoreValue, txnCurl, txnJson, unlockOps } from "./release";

describe("txn bodies", () => {
  it("unlock: check-index, check-session, then unlock resending value and the exact uint64 flags", () => {
    const body = txnJson(unlockOps({ key: "locks/a", modifyIndex: 41, session: "s-1" }, "dg==", LOCK_FLAGS));
    expect(body).toBe(
      `[{"KV":{"Verb":"check-index","Key":"locks/a","Index":41}},{"KV":{"Verb":"check-session","Key":"locks/a","Session":"s-1"}},` +
        `{"KV":{"Verb":"unlock","Key":"locks/a","Value":"dg==","Flags":3304740253564472344,"Session":"s-1"}}]`,
    );
    // JSON.parse would round the flags; the wire text keeps every digit.
    expect(body).toContain("3304740253564472344");
    expect(JSON.parse(body)[2].KV.Flags).not.toBe(Number.NaN);
  });

  it("semaphore eviction: one cas on .lock without the evicted holders, then check-session + delete per contender", () => {
    const ops = evictOps({
      lockKey: "p/.lock",
      lockModifyIndex: 9,
      limit: 2,
      flags: SEMAPHORE_FLAGS,
      holdersNow: ["b", "a", "dead"],
      evict: [["p/a", "a"]],
    });
    expect(ops.map((o) => o.Verb)).toEqual(["cas", "check-session", "delete"]);
    expect(Buffer.from(String(ops[0].Value), "base64").toString()).toBe('{"Limit":2,"Holders":{"b":true,"dead":true}}');
    expect(ops[0]).toMatchObject({ Key: "p/.lock", Index: 9 });
    expect(txnJson(ops)).toContain(`"Flags":${SEMAPHORE_FLAGS}`);
  });

  it("encodes .lock like api.Semaphore (sorted holders, no duplicates)", () => {
    expect(semaphoreValue(3, ["z", "a", "z"])).toBe('{"Limit":3,"Holders":{"a":true,"z":true}}');
  });

  it("the curl line quotes the body for a shell and never carries a token", () => {
    const line = txnCurl("http://127.0.0.1:8500", unlockOps({ key: "it's/a", modifyIndex: 1, session: "s" }, "", "0"), "dc2");
    expect(line).toContain(`-H "X-Consul-Token: $CONSUL_HTTP_TOKEN"`);
    expect(line).toContain(`'\\''`);
    expect(line.endsWith("'http://127.0.0.1:8500/v1/txn?dc=dc2'")).toBe(true);
  });
});
