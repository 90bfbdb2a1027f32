import { describe, expect, it } from "vitest";
import { staleSeconds, staleWords } from "./freshness";

describe("staleWords", () => {
  it("says how old a stale view is and since when", () => {
    const at = new Date(2024, 0, 1, 17, 20, 4).toISOString();
    expect(staleWords({ stale: true, staleAgeMs: 42_000, confirmedAt: at })).toBe("stale view: last confirmed 17:20:04, 42s ago — the store may differ now");
    expect(staleWords({ stale: true, staleAgeMs: null, confirmedAt: null })).toBe("stale view: never confirmed");
  });
  it("rounds the acknowledged age to whole seconds, at least 1", () => {
    expect(staleSeconds(42_400)).toBe(42);
    expect(staleSeconds(200)).toBe(1);
  });
});
