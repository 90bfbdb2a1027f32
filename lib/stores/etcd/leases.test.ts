// The not-renewed rule, with a fake monotonic clock: only the store's TTLs and the time
// between reads go in.
import { describe, expect, it } from "vitest";
import { LeaseTracker } from "./leases";

describe("LeaseTracker", () => {
  it("flags a 10 s lease whose TTL only falls for longer than a keep-alive interval (10/3 s) plus slack", () => {
    const t = new LeaseTracker();
    expect(t.observe("1", 9, 10, 0)).toBe(false);
    expect(t.observe("1", 8, 10, 1_000)).toBe(false);
    expect(t.observe("1", 6, 10, 3_000)).toBe(false);
    expect(t.observe("1", 4, 10, 5_000)).toBe(true); // 5 s > 3.33 s + 1.5 s, and no rise
    expect(t.flagged("1")).toBe(true);
  });

  it("does not flag a lease that is renewed every TTL/3 (the TTL goes back up)", () => {
    const t = new LeaseTracker();
    const reads = [
      [9, 0],
      [8, 1_000],
      [7, 2_000],
      [9, 3_400],
      [8, 4_400],
      [7, 5_400],
      [9, 6_800],
      [8, 7_800],
    ];
    for (const [ttl, at] of reads) expect(t.observe("1", ttl, 10, at)).toBe(false);
  });

  it("does not flag when reads are far apart and renewals happened in between (TTL above what no renewal allows)", () => {
    const t = new LeaseTracker();
    expect(t.observe("1", 50, 60, 0)).toBe(false);
    // 10 min later the lease still lives with 45 s left: it must have been renewed.
    expect(t.observe("1", 45, 60, 600_000)).toBe(false);
  });

  it("clears the flag when the lease is renewed again, and forgets expired leases", () => {
    const t = new LeaseTracker();
    t.observe("1", 9, 10, 0);
    expect(t.observe("1", 3, 10, 6_000)).toBe(true);
    expect(t.observe("1", 10, 10, 6_500)).toBe(false);
    expect(t.observe("1", -1, 10, 20_000)).toBe(false);
    expect(t.flagged("1")).toBe(false);
  });

  it("retain() drops leases no lock uses", () => {
    const t = new LeaseTracker();
    t.observe("1", 9, 10, 0);
    t.observe("1", 3, 10, 6_000);
    t.retain(new Set(["2"]));
    expect(t.flagged("1")).toBe(false);
  });
});
