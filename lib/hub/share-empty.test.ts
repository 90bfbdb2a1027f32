import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { shareEmptyLists } from "./share-empty";

function rec(key: string, holders: LockRecord["holders"]): LockRecord {
  return {
    connection: "c",
    key,
    name: key,
    format: "redis.token",
    kind: "mutex",
    state: holders.length ? "held" : "free",
    holders,
    waiters: [],
    ttlMs: 1000,
    ttlSource: "pttl",
    holding: {},
    observedAt: "2026-01-01T00:00:00.000Z",
    consistency: "",
    warnings: [],
  };
}

describe("shareEmptyLists", () => {
  it("gives every record's empty lists one frozen array, and leaves the others alone", () => {
    const held = [{ id: "t1" }];
    const a = shareEmptyLists(rec("a", held));
    const b = shareEmptyLists(rec("b", []));
    expect(a.holders).toBe(held);
    expect(a.waiters).toBe(b.waiters);
    expect(a.warnings).toBe(b.waiters);
    expect(b.holders).toBe(b.waiters);
    // A stored record is replaced, never edited: an edit fails loudly instead of changing every record.
    expect(() => a.warnings.push("x")).toThrow(TypeError);
    expect(b.waiters).toHaveLength(0);
  });
});
