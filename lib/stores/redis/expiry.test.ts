import { describe, expect, it } from "vitest";
import { ExpiryClock } from "./expiry";
import { waitFor } from "../../../scripts/servers/process";

describe("expiry clock", () => {
  it("calls each key back once its due time has passed, near and far ones alike, never early", async () => {
    const fired = new Map<string, number>();
    // Small buckets so the test is quick: 10 ms fine buckets up to 200 ms ahead, 100 ms coarse ones beyond.
    const clock = new ExpiryClock((keys) => keys.forEach((k) => fired.set(k, Date.now())), { resolutionMs: 10, fineHorizonMs: 200, coarseMs: 100 });
    const t0 = Date.now();
    const due = { near: 30, mid: 150, far: 470, farther: 730 };
    for (const [k, ttl] of Object.entries(due)) clock.note(k, ttl, t0);
    // 1,000 keys over half a second cost a handful of buckets beyond the fine horizon.
    for (let i = 0; i < 1000; i++) clock.note(`bulk:${i}`, 300 + (i % 500), t0);
    expect(clock.size.keys).toBe(1004);
    expect(clock.size.buckets).toBeLessThan(30);
    try {
      await waitFor(async () => fired.size === 1004, { timeoutMs: 5_000, intervalMs: 10, what: "every key called back" });
      for (const [k, ttl] of Object.entries(due)) {
        expect(fired.get(k)! - t0).toBeGreaterThanOrEqual(ttl);
      }
      for (let i = 0; i < 1000; i++) expect(fired.get(`bulk:${i}`)! - t0).toBeGreaterThanOrEqual(300 + (i % 500));
      expect(clock.size.keys).toBe(0);
    } finally {
      clock.stop();
    }
  });
});
