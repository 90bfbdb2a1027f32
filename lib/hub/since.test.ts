import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { StartTimes } from "./since";

const rec = (holders: string[], waiters: string[], observedAt: string): LockRecord => ({
  connection: "c",
  key: "k",
  name: "k",
  format: "redisson.fair",
  kind: "mutex",
  state: holders.length ? "held" : "free",
  holders: holders.map((id) => ({ id })),
  waiters: waiters.map((id, i) => ({ id, position: i + 1 })),
  ttlMs: null,
  ttlSource: "none",
  holding: {},
  observedAt,
  consistency: "x",
  warnings: [],
});

describe("StartTimes", () => {
  it("a waiter of a lock whose record vanished for a moment keeps its first sighting when it is queued again", () => {
    const starts = new StartTimes(45_000);
    const first = rec(["a"], ["w1", "w2"], "2026-01-01T00:00:00.100Z");
    starts.fill(undefined, first);
    expect(first.waiters.map((w) => w.since)).toEqual(["2026-01-01T00:00:00.100Z", "2026-01-01T00:00:00.100Z"]);
    starts.gone(first);
    const back = rec(["w1"], ["w2"], "2026-01-01T00:00:05.000Z");
    starts.fill(undefined, back);
    expect(back.waiters[0]).toMatchObject({ id: "w2", since: "2026-01-01T00:00:00.100Z", sinceSource: "first-seen" });
    // Without the record's departure noted, a new queue starts at its own sighting.
    const other = new StartTimes(45_000);
    const fresh = rec(["w1"], ["w2"], "2026-01-01T00:00:05.000Z");
    other.fill(undefined, fresh);
    expect(fresh.waiters[0].since).toBe("2026-01-01T00:00:05.000Z");
  });
});
