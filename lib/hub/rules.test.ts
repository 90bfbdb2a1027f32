import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { applyRules } from "./rules";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const HOUR = 3_600_000;

function rec(kind: LockRecord["kind"]): LockRecord {
  return {
    connection: "c",
    key: "k",
    name: "k",
    format: "t",
    kind,
    state: "held",
    holders: [{ id: "leader", since: new Date(T0).toISOString() }],
    waiters: [{ id: "standby", position: 1, since: new Date(T0).toISOString() }],
    ttlMs: null,
    ttlSource: "zk-session",
    holding: { t: "none" },
    observedAt: new Date(T0).toISOString(),
    consistency: "x",
    warnings: [],
  };
}

describe("applyRules", () => {
  const rules = { heldLongerThanMs: HOUR, waiterOlderThanMs: 5 * 60_000 };

  it("a lock held and waited on past the rules gets both warnings", () => {
    expect(applyRules(rec("mutex"), rules, T0 + 2 * HOUR).warnings).toEqual(["held-too-long", "waiter-too-long"]);
  });

  it("an election's leader and candidates are exempt: they hold and stand by for as long as the service runs", () => {
    const r = rec("election");
    expect(applyRules(r, rules, T0 + 48 * HOUR)).toBe(r);
    // One flagged before (a config without the exemption, a kind read differently) loses the warnings.
    expect(applyRules({ ...r, warnings: ["held-too-long", "waiter-too-long"] }, rules, T0 + 48 * HOUR).warnings).toEqual([]);
  });
});
