import { describe, expect, it } from "vitest";
import { ownerOfValue } from "./owner";

describe("ownerOfValue", () => {
  it("shows a JSON value's telling fields, in a fixed order", () => {
    expect(ownerOfValue('{"token":"a1b2c3","owner":"worker-7","pid":4242,"host":"app-3","expires":1700000000000}')).toBe(
      "owner worker-7 · host app-3 · pid 4242",
    );
  });
  it("falls back to the first scalar fields when none names a holder", () => {
    expect(ownerOfValue('{"token":"a1b2","lease":30,"nested":{"x":1}}')).toBe("token a1b2 · lease 30");
  });
  it("leaves plain tokens, arrays, bad JSON and empty objects alone", () => {
    expect(ownerOfValue("9f8e7d6c5b4a39281706f5e4d3c2b1a0")).toBeUndefined();
    expect(ownerOfValue("[1,2]")).toBeUndefined();
    expect(ownerOfValue('{"owner":')).toBeUndefined();
    expect(ownerOfValue("{}")).toBeUndefined();
  });
  it("escapes control characters and bounds the line", () => {
    expect(ownerOfValue('{"owner":"a\\u001b[31mb"}')).toBe("owner a\\x1b[31mb");
    expect(ownerOfValue(JSON.stringify({ owner: "x".repeat(300) }))!.length).toBeLessThanOrEqual(161);
  });
});
