import { describe, expect, it } from "vitest";
import type { WaitsAnswer } from "@/lib/waits/types";
import { blockingTree } from "./waits-tree";

const edge = (waiter: string, lock: string, holder: string, deadlock = false, position = 1) => ({ waiter, lock, holder, lockName: lock, deadlock, position });
const owner = (key: string, extra: Partial<WaitsAnswer["owners"][string]> = {}) => ({
  key,
  party: { id: key },
  holds: 1,
  waitsFor: [],
  deadlocked: false,
  ...extra,
});

describe("blockingTree", () => {
  it("dead holders first, then each deadlock once, then the biggest and deepest blockers", () => {
    const a: Pick<WaitsAnswer, "edges" | "owners" | "cycles"> = {
      edges: [
        // a chain: C waits for B, B waits for A
        edge("B", "a", "A"),
        edge("C", "b", "B"),
        // a fan: X blocks three
        edge("P", "x", "X"),
        edge("Q", "x", "X", false, 2),
        edge("R", "x", "X", false, 3),
        // a deadlock
        edge("D1", "d2", "D2", true),
        edge("D2", "d1", "D1", true),
        // a dead holder blocking one
        edge("W", "z", "Z"),
      ],
      owners: Object.fromEntries(
        ["A", "B", "C", "X", "P", "Q", "R", "W"]
          .map((k) => [k, owner(k)])
          .concat([
            ["D1", owner("D1", { deadlocked: true })],
            ["D2", owner("D2", { deadlocked: true })],
            ["Z", owner("Z", { dead: "its lease is not renewed" })],
          ]),
      ),
      cycles: [{ owners: ["D1", "D2"], locks: ["d2", "d1"] }],
    };
    const t = blockingTree(a);
    expect(t.roots).toEqual(["Z", "D1", "X", "A"]);
    expect(t.nodes.get("A")).toMatchObject({ blocked: 2, depth: 2 });
    expect(t.nodes.get("X")).toMatchObject({ blocked: 3, depth: 1 });
    expect(t.nodes.get("X")!.holds[0].waiters.map((w) => w.owner)).toEqual(["P", "Q", "R"]);
    expect(t.nodes.get("D1")).toMatchObject({ blocked: 1, deadlocked: true });
  });
});
