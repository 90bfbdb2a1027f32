import { describe, expect, it } from "vitest";
import { safeNext } from "./next-path";

const origin = "http://127.0.0.1:3000";

describe("the page after sign-in", () => {
  it.each(["/", "/c/redis?q=lock%3A1", "/audit#top", "/c/zk/lock?key=%2Flocks%2Fa"])("keeps same-origin path %s", (p) => {
    expect(safeNext(p, origin)).toBe(p);
  });

  it.each([
    "//evil.com",
    "/\\evil.com",
    "/\\/evil.com",
    "https://evil.com",
    "http://127.0.0.1:3000.evil.com/",
    "javascript:alert(1)",
    "/%5Cevil.com",
    "\t//evil.com",
    "/\t/evil.com",
    "",
    null,
    "evil.com",
    "/%2F%2Fevil.com",
  ])("sends %j home", (p) => {
    const out = safeNext(p, origin);
    expect(new URL(out, origin).origin).toBe(origin);
    expect(out.startsWith("/") && !out.startsWith("//") && !out.includes("\\")).toBe(true);
  });
});
