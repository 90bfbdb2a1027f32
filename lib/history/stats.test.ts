import { describe, expect, it } from "vitest";
import { histPercentile, percentile, rollup, segments, summarize, emptyHist, bucketIndex } from "./stats";
import { markForced, markForcedOnce } from "./audit-tail";
import type { LifeEvent } from "./types";

const ev = (at: number, kind: LifeEvent["kind"], extra: Partial<LifeEvent> = {}): LifeEvent => ({ at, connection: "c", key: "k", kind, waiters: 0, resMs: 0, ...extra });

describe("stats", () => {
  it("percentiles by nearest rank", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 95), percentile(xs, 99)]).toEqual([50, 95, 99]);
    expect(percentile([], 50)).toBeNull();
  });

  it("histogram percentiles give the bucket's upper bound", () => {
    const h = emptyHist();
    h[bucketIndex(40)] = 90;
    h[bucketIndex(900)] = 10;
    expect(histPercentile(h, 50)).toBe(50);
    expect(histPercentile(h, 99)).toBe(1_000);
    expect(summarize([], [h]).basis).toBe("bucketed");
  });

  it("segments pair acquisitions with their ends; open ones have end null", () => {
    const s = segments([ev(0, "acquired", { holder: "a" }), ev(100, "released", { holder: "a", holdMs: 100 }), ev(100, "acquired", { holder: "b" })]);
    expect(s).toMatchObject([{ holder: "a", start: 0, end: 100, endKind: "released" }, { holder: "b", start: 100, end: null }]);
  });

  it("minute roll-ups count and bucket", () => {
    const r = rollup([ev(1_000, "acquired", { waitMs: 30, waiters: 2 }), ev(2_000, "released", { holdMs: 700 }), ev(61_000, "handover")]);
    expect(r).toHaveLength(2);
    expect(r[0]).toMatchObject({ minute: 0, acquisitions: 1, waitCount: 1, waitSumMs: 30, holdCount: 1, maxWaiters: 2 });
    expect(r[1].handovers).toBe(1);
  });

  it("releases right after an audited intent for the same lock are force-released", () => {
    const out = markForced([ev(10_500, "released"), ev(10_500, "released", { key: "other" }), ev(30_000, "released")], [{ connection: "c", key: "k", at: 10_000 }]);
    expect(out.map((e) => e.kind)).toEqual(["force-released", "released", "released"]);
  });

  it("an intent marks the first change after it (every holder that ended in it), once; unmatched ones wait for a later flush", () => {
    const intent = { connection: "c", key: "k", at: 10_000 };
    // Flush 1: the release is not derived yet: the intent is not used.
    expect(markForcedOnce([], [intent]).used.size).toBe(0);
    // Flush 2: two holders ended in one change (a semaphore eviction), then an ordinary release later.
    const { events, used } = markForcedOnce([ev(10_020, "released", { holder: "a" }), ev(10_020, "released", { holder: "b" }), ev(15_000, "released", { holder: "c" })], [intent]);
    expect(events.map((e) => e.kind)).toEqual(["force-released", "force-released", "released"]);
    expect([...used]).toEqual([intent]);
  });
});
