import { describe, expect, it } from "vitest";
import {
  formatAge,
  formatCount,
  formatDuration,
  formatRawSize,
  formatReadMode,
  formatTtl,
  msBetween,
  plural,
  shortId,
  compactIds,
  formatAgo,
  laterOf,
} from "./format";

describe("formatDuration", () => {
  it.each([
    [0, "0ms"],
    [850, "850ms"],
    [1_200, "1.2s"],
    [1_259, "1.2s"],
    [5_000, "5s"],
    [18_400, "18s"],
    [59_999, "59s"],
    [60_000, "1m00s"],
    [122_000, "2m02s"],
    [190_000, "3m10s"],
    [4 * 3_600_000 + 5 * 60_000, "4h05m"],
    [2 * 86_400_000 + 4 * 3_600_000, "2d4h"],
    [3 * 86_400_000, "3d"],
    [-5, "0ms"],
  ])("%i ms → %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("keeps one decimal under a minute when precise", () => {
    expect(formatDuration(18_400, true)).toBe("18.4s");
    expect(formatDuration(5_000, true)).toBe("5.0s");
    expect(formatDuration(190_000, true)).toBe("3m10s");
  });
});

describe("formatTtl", () => {
  it("names the special values", () => {
    expect(formatTtl(null)).toBe("∞ no expiry");
    expect(formatTtl(-1)).toBe("expired");
    expect(formatTtl(1_200)).toBe("1.2s");
  });
});

describe("ages between server timestamps", () => {
  it("subtracts ISO times and tolerates missing ones", () => {
    expect(msBetween("2024-05-01T14:03:55.000Z", "2024-05-01T14:07:05.000Z")).toBe(190_000);
    expect(msBetween(undefined, "2024-05-01T14:07:05.000Z")).toBeNull();
    expect(msBetween("not a date", "2024-05-01T14:07:05.000Z")).toBeNull();
    expect(formatAge("2024-05-01T14:03:55.000Z", "2024-05-01T14:07:05.000Z")).toBe("3m10s");
    expect(formatAge(undefined, "2024-05-01T14:07:05.000Z")).toBe("–");
  });
});

describe("shortId", () => {
  it.each([
    ["1", "1"],
    ["short-holder", "short-holder"],
    ["7f3a9c1e-0b2d-4c55-9a8e-1d2c3b4a5f60:42", "7f3a…:42"],
    ["694d8f1b2c3a4e5f", "694d…a4e5f"],
    ["_c_4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13-lock-0000000003", "_c_4f1e…-lock-0000000003"],
    ["0123456789abcdef0123456789abcdef__lock__0000000003", "0123…__lock__0000000003"],
    ["4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13", "4f1e…e7c13"],
  ])("%s → %s", (id, text) => {
    expect(shortId(id)).toBe(text);
  });
});

describe("formatCount and formatReadMode", () => {
  it("formats counts with separators", () => {
    expect(formatCount(1284)).toBe("1,284");
    expect(formatCount(100000)).toBe("100,000");
  });

  it("shows how a view was read", () => {
    expect(formatReadMode({ mode: "live", stale: false, staleAgeMs: null })).toBe("live");
    expect(formatReadMode({ mode: "polling", pollIntervalMs: 5_000, stale: false, staleAgeMs: null })).toBe("polling 5s");
    expect(formatReadMode({ mode: "live", stale: true, staleAgeMs: 42_000 })).toBe("stale 42s");
  });

  it("says when the server last confirmed the view", () => {
    expect(formatReadMode({ mode: "live", stale: false, staleAgeMs: null, confirmedAgeMs: 1_400 })).toBe("live, confirmed 1 s ago");
    expect(formatReadMode({ mode: "live", stale: false, staleAgeMs: null, confirmedAgeMs: 300 })).toBe("live, confirmed just now");
    expect(formatReadMode({ mode: "polling", pollIntervalMs: 5_000, stale: false, staleAgeMs: null, confirmedAgeMs: 3_100 })).toBe("polling 5s, read 3 s ago");
    // Stale wins: the age is the staleness age, whatever the last confirmation said.
    expect(formatReadMode({ mode: "live", stale: true, staleAgeMs: 15_000, confirmedAgeMs: 15_000 })).toBe("stale 15s");
  });

  it("takes the later of two times as the reference for an age", () => {
    expect(laterOf("2024-01-01T00:00:02Z", "2024-01-01T00:00:01Z")).toBe("2024-01-01T00:00:02Z");
    expect(laterOf(undefined, "2024-01-01T00:00:01Z")).toBe("2024-01-01T00:00:01Z");
    expect(formatAgo(95_000)).toBe("1m35s ago");
  });
});

describe("formatRawSize", () => {
  it.each([
    ["znode", 9, "9 bytes"],
    ["kv", 1, "1 byte"],
    ["string", 0, "0 bytes"],
    ["hash", 2, "2 fields"],
    ["list", 1, "1 item"],
    ["zset", 3, "3 members"],
  ])("%s of %i → %s", (type, size, text) => {
    expect(formatRawSize(type, size)).toBe(text);
  });
});

describe("plural", () => {
  it("agrees with the count", () => {
    expect(plural(1, "problem")).toBe("1 problem");
    expect(plural(2, "problem")).toBe("2 problems");
    expect(plural(1_284, "entry", "entries")).toBe("1,284 entries");
  });
});

describe("compactIds", () => {
  it("shortens uuids inside text and leaves the rest", () => {
    expect(compactIds("Redisson client 7f3a9c1e-0b2d-4c55-9a8e-1d2c3b4a5f60 thread 42")).toBe("Redisson client 7f3a9c1e… thread 42");
    expect(compactIds("worker-7 on app-3")).toBe("worker-7 on app-3");
  });
});
