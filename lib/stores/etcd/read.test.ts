// Page sizes of a paged read (read.ts): pure.
import { describe, expect, it } from "vitest";
import { MAX_PAGE_KEYS, nextPageSize } from "./read";

describe("nextPageSize", () => {
  const o = { pageSize: 10_000, maxReplyBytes: 16 * 1024 * 1024 };

  it("grows four-fold while the replies stay small, up to MAX_PAGE_KEYS", () => {
    expect(nextPageSize(10_000, 10_000, 600_000, o)).toBe(40_000);
    expect(nextPageSize(40_000, 40_000, 2_400_000, o)).toBe(69_905); // a quarter of 16 MiB at 60 bytes a key
    expect(nextPageSize(80_000, 80_000, 80_000, o)).toBe(MAX_PAGE_KEYS);
  });

  it("keeps a reply under a quarter of maxReplyBytes by the bytes per key seen, never below pageSize", () => {
    expect(nextPageSize(100, 100, 100 * 1024, { pageSize: 100, maxReplyBytes: 1024 * 1024 })).toBe(256);
    expect(nextPageSize(100, 100, 100 * 20 * 1024, { pageSize: 100, maxReplyBytes: 64 * 1024 })).toBe(100);
    expect(nextPageSize(10, 0, 0, { pageSize: 10, maxReplyBytes: 1024 })).toBe(10);
  });
});
