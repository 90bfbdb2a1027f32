// The rule that says a Consul holding ended with its session, with plain values; the real
// cases (a TTL that ran out, a destroyed session, an Unlock) are in lib/history/consul-ground-truth.test.ts.
import { describe, expect, it } from "vitest";
import { LOCK_FLAGS, SEMAPHORE_FLAGS, type ConsulEntry } from "../../formats/consul/entry";
import { endedHoldings, sessionEnds } from "./ends";

const entry = (Key: string, Session: string | undefined, ModifyIndex: number, Flags = LOCK_FLAGS): ConsulEntry => ({
  Key,
  Flags,
  Value: null,
  Session,
  LockIndex: 1,
  CreateIndex: 1,
  ModifyIndex,
});

describe("endedHoldings", () => {
  it("a mutex key whose session is not the one last read; not a new, kept or semaphore holding", () => {
    const before = new Map([
      ["a", entry("a", "s1", 10)],
      ["b", entry("b", "s2", 11)],
      ["c", entry("c", undefined, 12)],
      ["d", entry("d", "s4", 13, SEMAPHORE_FLAGS)],
      ["e", entry("e", "s5", 14)],
    ]);
    const after = [
      entry("a", undefined, 20),
      entry("b", "s2", 21),
      entry("c", "s3", 22),
      entry("d", undefined, 23, SEMAPHORE_FLAGS),
      entry("e", "s6", 24),
      entry("f", "s7", 25),
    ];
    expect(endedHoldings((k) => before.get(k), after)).toEqual([
      { key: "a", session: "s1", index: 20 },
      { key: "e", session: "s5", index: 24 },
    ]);
  });
});

describe("sessionEnds", () => {
  it("ended with its session only when the session is gone at exactly the key's release index; one read per session", async () => {
    const asked: string[] = [];
    const goneAt = async (id: string) => {
      asked.push(id);
      if (id === "boom") throw new Error("500");
      return { s1: 20, s2: 31, s3: null }[id] ?? null;
    };
    const out = await sessionEnds(
      [
        { key: "a", session: "s1", index: 20 },
        { key: "a2", session: "s1", index: 20 },
        { key: "b", session: "s2", index: 30 }, // gone, but at a later index: released, then destroyed
        { key: "c", session: "s3", index: 40 }, // still there: released
        { key: "d", session: "boom", index: 50 }, // unreadable: nothing said
      ],
      goneAt,
      4,
    );
    expect([...out]).toEqual([
      ["a", "s1"],
      ["a2", "s1"],
    ]);
    expect(asked.sort()).toEqual(["boom", "s1", "s2", "s3"]);
    expect((await sessionEnds([], goneAt, 4)).size).toBe(0);
  });
});
