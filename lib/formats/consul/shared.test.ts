// What a Consul decode may share between records and what it may not: the hub fills each
// record's holders' start times in place (lib/hub/since.ts), so two locks held by one session
// must not share a holder object, while the session's details and empty lists may be shared.

import { describe, expect, it } from "vitest";
import { decodeConsul } from "./index";
import { applyNodeHealth } from "./liveness";
import { LOCK_FLAGS, type ConsulEntry, type ConsulSession } from "./entry";

const session: ConsulSession = { ID: "s1", Name: "Consul API Lock", Node: "n1", TTL: "15s", NodeChecks: ["serfHealth"] };
const entry = (Key: string, ModifyIndex: number): ConsulEntry => ({
  Key,
  Flags: LOCK_FLAGS,
  Value: null,
  Session: "s1",
  LockIndex: 1,
  CreateIndex: 1,
  ModifyIndex,
});

describe("records of one session", () => {
  it("each has its own holder object; the session details are shared", () => {
    const { locks } = decodeConsul([entry("a", 5), entry("b", 6)], [session], { connection: "c1", consistency: "default", now: 0 });
    const [a, b] = locks;
    expect(a.holders[0]).not.toBe(b.holders[0]);
    expect(a.holders).not.toBe(b.holders);
    expect(a.holders[0].session).toBe(b.holders[0].session);
    // What the hub does (since.ts): each lock's start goes into its own holder.
    a.holders[0].since = "2026-01-01T00:00:00.000Z";
    b.holders[0].since = "2026-01-01T00:05:00.000Z";
    expect(a.holders[0].since).toBe("2026-01-01T00:00:00.000Z");
  });

  it("node health is judged once per node and set on each record's own holder", () => {
    const { locks } = decodeConsul([entry("a", 5), entry("b", 6)], [session], { connection: "c1", consistency: "default", now: 0 });
    const holders = locks.map((l) => l.holders[0]);
    applyNodeHealth(locks, { checks: [{ Node: "n1", CheckID: "app", Name: "app", Status: "critical" }], filtered: false });
    expect(locks.map((l) => l.holders[0])).toEqual(holders);
    expect(locks[0].holders[0]).toBe(holders[0]);
    for (const l of locks) {
      expect(l.holders[0].liveness).toMatchObject({ state: "dead", node: "n1" });
      expect(l.warnings).toEqual(["holder-node-failing"]);
    }
    applyNodeHealth(locks, { checks: [], filtered: false });
    for (const l of locks) {
      expect(l.holders[0].liveness?.state).toBe("alive");
      expect(l.warnings).toEqual([]);
    }
  });
});
