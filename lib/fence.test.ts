import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { decodeFence, encodeFence, fenceFor, fenceOf, FenceError } from "./fence";
import { decodeRedis } from "./formats/redis";
import { present } from "./api/exposure";

const want = { connection: "c", key: "k", formats: ["redis.token"] };

/** Rewrites a fence's readable part, keeping its signature: what an attacker can do with a copy. */
function edit(fence: string, change: (f: Record<string, unknown>) => void): string {
  const [payload, mac] = fence.split(".");
  const body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  change(body);
  return `${Buffer.from(JSON.stringify(body)).toString("base64url")}.${mac}`;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The fence with its signature spelled differently but decoding to the same bytes (way 0: spare bits; 1: "+"/"/"). */
function respell(fence: string, way: 0 | 1): string {
  const dot = fence.lastIndexOf(".");
  const sig = fence.slice(dot + 1);
  const other = way === 0 ? sig.slice(0, -1) + B64URL[B64URL.indexOf(sig.at(-1)!) ^ 1] : sig.replace("-", "+").replace("_", "/");
  expect(other).not.toBe(sig);
  expect(Buffer.from(other, "base64url").equals(Buffer.from(sig, "base64url"))).toBe(true);
  return `${fence.slice(0, dot)}.${other}`;
}

/** A fence whose signature has a character that matches (about 3 in 4 do: 43 characters, 2 of 64). */
function signedWith(chars: RegExp): string {
  for (let i = 0; i < 200; i++) {
    const fence = encodeFence("c", `k${i}`, "redis.token", {});
    if (chars.test(fence.slice(fence.lastIndexOf(".") + 1))) return fence;
  }
  throw new Error(`no fence signature with ${chars} in 200 tries`);
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
    // The same 32 bytes written another way: the last character's 2 spare bits, "+" for "-".
    ["a signature with its last character's spare bits set", respell(f, 0)],
    ["a signature in base64's alphabet", respell(signedWith(/[-_]/), 1)],
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

describe("fences made on demand", () => {
  const ctx = { connection: "c1", consistency: "primary", now: Date.parse("2026-01-01T00:00:00Z") };
  const sha1 = (b: Buffer) => createHash("sha1").update(b).digest("hex");
  const token = (key: string, value: Buffer) => decodeRedis([{ key, type: "string", pttl: 5_000, size: value.length, truncated: false, value }], ctx).locks[0];
  const values: Array<[string, Buffer]> = [
    ["a hex token (kept as its holder id)", Buffer.from("0123456789abcdef0123456789abcdef")],
    ["a non-ASCII token (kept as its holder id)", Buffer.from("héllo-wörld-tøken", "utf8")],
    ["a token with control characters (digested at read)", Buffer.from("tok\u001b[31mred-0123")],
    ["bytes that are not UTF-8 (digested at read)", Buffer.from([0xff, 0xfe, 0x41, 0x42, 0x43, 0x44, 0x45, 0xc3])],
    ["a token longer than a holder id (digested at read)", Buffer.alloc(300, 0x61)],
  ];

  it.each(values)("%s: the record holds no fence; its fence names the value's SHA-1, never the value, the same every time", (_what, bytes) => {
    const rec = token("lock:t", bytes);
    expect("fence" in rec).toBe(false);
    expect(JSON.stringify(rec)).not.toMatch(/"fence"/);
    const fence = fenceOf(rec);
    // The same fence the read path used to make eagerly, so fences already handed out still match.
    expect(fence).toBe(encodeFence("c1", "lock:t", rec.format, { t: "string", d: sha1(bytes) }));
    expect(fenceOf(rec)).toBe(fence);
    expect(Buffer.from(fence.split(".")[0], "base64url").toString("utf8")).not.toContain(bytes.toString("utf8").slice(0, 16));
    expect(fenceFor(fence, { connection: "c1", key: "lock:t", formats: [rec.format] }).h).toEqual({ t: "string", d: sha1(bytes) });
  });

  it("viewers get neither fence nor holding nor raw preview; releasers a verifiable fence and no holding", () => {
    const rec = {
      ...token("lock:v", Buffer.from("0123456789abcdef0123456789abcdef")),
      raw: [{ key: "lock:v", type: "string", preview: "x", encoding: "text" as const, size: 1, truncated: false }],
    };
    const seen = present("view", rec);
    expect(seen.fence).toBe("");
    expect("holding" in seen || "raw" in seen).toBe(false);
    const full = present("release", rec);
    expect("holding" in full).toBe(false);
    expect(decodeFence(full.fence)).toMatchObject({ c: "c1", k: "lock:v", f: "redis.token" });
  });
});
