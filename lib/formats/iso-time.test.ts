import { describe, expect, it } from "vitest";
import { isoTime } from "./iso-time";

describe("isoTime", () => {
  it("writes exactly what Date#toISOString writes", () => {
    const at = [0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, -1, -86_400_001, Date.parse("2026-12-07T23:59:59.999Z"), Date.parse("2024-02-29T12:00:00.5Z")];
    at.push(Date.parse("0000-01-01T00:00:00.000Z"), Date.parse("9999-12-31T23:59:59.999Z"), 8.64e15, -8.64e15);
    // Every millisecond-ish spread over 400 years, jumping back and forth between days.
    let x = 12_345;
    for (let i = 0; i < 200_000; i++) {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      at.push((x % 12_622_780) * 1_000_003 - 2e12 + (i % 1000));
    }
    for (const ms of at) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it("fails as Date does for what is not a time", () => {
    for (const bad of [NaN, Infinity, 8.64e15 + 1]) expect(() => isoTime(bad)).toThrow(RangeError);
    expect(isoTime(1.5)).toBe(new Date(1.5).toISOString());
  });
});
