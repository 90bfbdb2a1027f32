import { describe, expect, it } from "vitest";
import { addCounts, countEvents, foldEvent, histPercentile, percentile, rollup, segments, summarize, emptyHist, bucketIndex } from "./stats";
import { markForced, markForcedOnce } from "./audit-tail";
import { lifeEvent as ev } from "../../test/support/life-event";

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
    expect(s).toMatchObject([
      { holder: "a", start: 0, end: 100, endKind: "released" },
      { holder: "b", start: 100, end: null },
    ]);
  });

  it("one fold counts each kind into the counts a figure keeps, and sums hold and wait times where it has histograms", () => {
    const events = [
      ev(0, "acquired", { waitMs: 40 }),
      ev(1, "acquired", { waitMs: 0 }),
      ev(2, "handover"),
      ev(3, "released", { holdMs: 700 }),
      ev(4, "expired", { holdMs: 9 }),
      ev(5, "force-released"),
      ev(6, "lost", { holdMs: 50 }),
      ev(7, "waiter-left", { waitMs: 3 }),
      ev(8, "seen"),
    ];
    expect(countEvents(events)).toEqual({ acquisitions: 2, handovers: 1, forceReleases: 1, expiries: 1, lost: 1 });
    // A chart bucket keeps two counts and no histograms: nothing else is added to it.
    const bucket = { t: 0, acquisitions: 0, handovers: 0, waitMs: 0 };
    for (const e of events) foldEvent(bucket, e);
    expect(bucket).toEqual({ t: 0, acquisitions: 2, handovers: 1, waitMs: 0 });
    // A counter with histograms: holds of ends with a known hold ("lost" ends in a gap), waits over 0 ms.
    const counter = { acquisitions: 0, expiries: 0, holdHist: emptyHist(), holdSumMs: 0, waitHist: emptyHist(), waitSumMs: 0, waitCount: 0 };
    for (const e of events) foldEvent(counter, e);
    expect(counter).toMatchObject({ acquisitions: 2, expiries: 1, holdSumMs: 709, waitSumMs: 43, waitCount: 2 });
    expect(counter).not.toHaveProperty("holdCount");
    expect(counter.holdHist[bucketIndex(700)] + counter.holdHist[bucketIndex(9)]).toBe(2);
    expect(counter.waitHist.reduce((a, b) => a + b, 0)).toBe(2);
    // Roll-up counts add to what the figure keeps ("lost" is not rolled up).
    const row = { acquisitions: 1, handovers: 0, lost: 4 };
    addCounts(row, { acquisitions: 2, handovers: 3, forceReleases: 5 });
    expect(row).toEqual({ acquisitions: 3, handovers: 3, lost: 4 });
  });

  it("minute roll-ups count and bucket", () => {
    const r = rollup([ev(1_000, "acquired", { waitMs: 30, waiters: 2 }), ev(2_000, "released", { holdMs: 700 }), ev(61_000, "handover")]);
    expect(r).toHaveLength(2);
    expect(r[0]).toMatchObject({ minute: 0, acquisitions: 1, waitCount: 1, waitSumMs: 30, holdCount: 1, maxWaiters: 2 });
    expect(r[1].handovers).toBe(1);
  });

  it("releases right after an audited intent for the same lock are force-released", () => {
    const out = markForced(
      [ev(10_500, "released"), ev(10_500, "released", { key: "other" }), ev(30_000, "released")],
      [{ connection: "c", key: "k", at: 10_000 }],
    );
    expect(out.map((e) => e.kind)).toEqual(["force-released", "released", "released"]);
  });

  it("an intent marks the first change after it (every holder that ended in it), once; unmatched ones wait for a later flush", () => {
    const intent = { connection: "c", key: "k", at: 10_000 };
    // Flush 1: the release is not derived yet: the intent is not used.
    expect(markForcedOnce([], [intent]).used.size).toBe(0);
    // Flush 2: two holders ended in one change (a semaphore eviction), then an ordinary release later.
    const { events, used } = markForcedOnce(
      [ev(10_020, "released", { holder: "a" }), ev(10_020, "released", { holder: "b" }), ev(15_000, "released", { holder: "c" })],
      [intent],
    );
    expect(events.map((e) => e.kind)).toEqual(["force-released", "force-released", "released"]);
    expect([...used]).toEqual([intent]);
  });
});
