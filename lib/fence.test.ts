import { describe, expect, it } from "vitest";
import { decodeFence, encodeFence, fenceFor, FenceError } from "./fence";

const want = { connection: "c", key: "k", formats: ["redis.token"] };

/** Rewrites a fence's readable part, keeping its signature: what an attacker can do with a copy. */
function edit(fence: string, change: (f: Record<string, unknown>) => void): string {
  const [payload, mac] = fence.split(".");
  const body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  change(body);
  return `${Buffer.from(JSON.stringify(body)).toString("base64url")}.${mac}`;
}

describe("fences", () => {
  const f = encodeFence("c", "k", "redis.token", { t: "string", d: "0".repeat(40) });

  it("round-trip when signed by this server", () => {
    expect(decodeFence(f)).toEqual({ v: 2, c: "c", k: "k", f: "redis.token", h: { t: "string", d: "0".repeat(40) } });
    expect(fenceFor(f, want).k).toBe("k");
  });

  it.each([
    ["an edited key", edit(f, (b) => (b.k = "session:admin"))],
    ["an edited holding", edit(f, (b) => (b.h = { t: "string", d: "1".repeat(40) }))],
    ["an edited connection", edit(f, (b) => (b.c = "other"))],
    ["the unsigned form of earlier versions", f.split(".")[0]],
    ["a truncated signature", f.slice(0, -2)],
    ["garbage", "not-a-fence"],
    ["an empty string", ""],
  ])("refuse %s before reading it", (_what, forged) => {
    expect(() => decodeFence(forged)).toThrow(FenceError);
    expect(() => decodeFence(forged)).toThrow(/^fence: /);
  });

  it("refuse a genuine fence used for another connection, key or store format, naming the field", () => {
    expect(() => fenceFor(encodeFence("other", "k", "redis.token", {}), want)).toThrow(/^fence: made for connection "other"/);
    expect(() => fenceFor(encodeFence("c", "k2", "redis.token", {}), want)).toThrow(/^fence: made for another key/);
    expect(() => fenceFor(encodeFence("c", "k", "zk.recipe", {}), want)).toThrow(/^fence: format "zk.recipe"/);
  });
});
