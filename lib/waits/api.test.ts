// The lock page's view through the graph: what a holder waits for itself (since when, behind
// whom), what else it holds, the deadlock through the lock, and holders with no identity.
import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { WaitGraph } from "./graph";
import { lockWaitsAnswer } from "./api";

const T = "2026-01-01T00:00:00.000Z";
function lock(key: string, holders: string[], waiters: string[] = []): LockRecord {
  const p = (o: string) => (o.startsWith("-") ? { id: o } : { id: o, ownerKey: o, owner: `client ${o}` });
  return {
    connection: "c",
    key,
    name: `name of ${key}`,
    format: "f",
    kind: "mutex",
    state: "held",
    holders: holders.map(p),
    waiters: waiters.map((o, i) => ({ ...p(o), position: i + 1, since: T })),
    ttlMs: null,
    ttlSource: "none",
    holding: {},
    observedAt: T,
    consistency: "",
    warnings: [],
  };
}

describe("lockWaitsAnswer", () => {
  it("says what the holder itself waits for, what else it holds, and the cycle through the lock", () => {
    const g = new WaitGraph();
    const recs = [lock("a", ["A"], ["B"]), lock("b", ["B"], ["X", "A"]), lock("c", ["A"]), lock("d", ["A"])];
    for (const r of recs) g.update(r.key, r);
    const ans = lockWaitsAnswer("c", g, "a", recs[0]);
    expect(ans.holders).toHaveLength(1);
    expect(ans.holders[0]).toMatchObject({
      owner: "A",
      waitsFor: [{ lock: "b", name: "name of b", since: T, position: 2, deadlock: true, holders: [{ key: "B" }] }],
      alsoHolds: [
        { lock: "c", name: "name of c" },
        { lock: "d", name: "name of d" },
      ],
      alsoHoldsTotal: 2,
    });
    expect(ans.cycles).toEqual([{ owners: ["A", "B"], locks: ["b", "a"] }]);
    expect(ans.owners.A.party.owner).toBe("client A");
    expect(ans.lockNames.b).toBe("name of b");
    expect(ans.unidentifiedHolders).toBe(0);
  });

  it("a plain token holder: nothing to follow, and it says so", () => {
    const g = new WaitGraph();
    const rec = lock("t", ["-token"], []);
    g.update("t", rec);
    expect(lockWaitsAnswer("c", g, "t", rec)).toMatchObject({ holders: [], cycles: [], unidentifiedHolders: 1 });
  });
});
