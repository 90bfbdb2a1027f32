import { describe, expect, it } from "vitest";
import { encodeFence } from "@/lib/fence";
import { describeFence } from "./fence-text";

const fence = (f: string, h: Record<string, string | number | null>) => encodeFence("c", "k", f, h);

describe("describeFence", () => {
  it("reads every store's holding in words", () => {
    expect(describeFence(fence("redis.token", { t: "string", d: "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12" }))).toBe(
      "redis.token · value with SHA-1 2fd4…3eb12",
    );
    expect(
      describeFence(fence("redisson.lock", { t: "hash", fields: JSON.stringify([["7f3a9c1e-0b2d-4c55-9a8e-1d2c3b4a5f60:42", "2"]]), ch: "x", msg: "0" })),
    ).toBe("redisson.lock · holder 7f3a…:42 ×2");
    expect(describeFence(fence("etcd.mutex", { t: "kv", cr: "42", mr: "43", l: "7587878294058061407" }))).toBe(
      "etcd.mutex · holder key at create revision 42, mod revision 43, lease 694d…a4e5f",
    );
    expect(describeFence(fence("consul.lock", { t: "kv", mi: 17, li: 3, s: "4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13" }))).toBe(
      "consul.lock · session 4f1e…e7c13, LockIndex 3, ModifyIndex 17",
    );
    expect(
      describeFence(
        fence("curator.mutex", {
          t: "zk",
          nodes: JSON.stringify([["/locks/a/_c_4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13-lock-0000000003", 0, "8"]]),
          revoke: null,
        }),
      ),
    ).toBe("curator.mutex · znode _c_4f1e…-lock-0000000003 version 0 (czxid 8)");
    expect(describeFence(fence("memory.mutex", { holder: "worker-7", token: 12 }))).toBe("memory.mutex · holder worker-7, fencing token 12");
    expect(describeFence(fence("redis.unknown", { t: "none" }))).toBe("redis.unknown · nothing releasable");
  });
  it("says nothing for text that is not a fence", () => {
    expect(describeFence("")).toBeNull();
    expect(describeFence("not base64 json")).toBeNull();
  });
});
