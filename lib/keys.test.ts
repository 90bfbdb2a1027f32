import { describe, expect, it } from "vitest";
import { escapeControls, keyFromBytes, keyToBytes } from "./keys";
import { globToRegExp } from "./glob";

describe("keys round-trip exactly", () => {
  it.each([
    Buffer.from("lock:orders"),
    Buffer.from("ключ:🔒"),
    Buffer.from([0x6c, 0x6f, 0xff, 0x00, 0xfe]),
    Buffer.from("base64:looks-encoded"),
    Buffer.from("a\u0000b\nc"),
  ])("%#", (bytes) => {
    expect(keyToBytes(keyFromBytes(bytes)).equals(bytes)).toBe(true);
  });

  it("text stays text; invalid UTF-8 and look-alikes are base64", () => {
    expect(keyFromBytes(Buffer.from("lock:a"))).toBe("lock:a");
    expect(keyFromBytes(Buffer.from([0xff]))).toBe("base64:/w==");
    expect(keyFromBytes(Buffer.from("base64:x"))).toMatch(/^base64:YmFzZTY0/);
  });

  it("control characters are shown as escapes", () => {
    expect(escapeControls("a\u0007b\u001b[0m")).toBe("a\\x07b\\x1b[0m");
  });
});

describe("globs (SCAN MATCH syntax)", () => {
  it.each([
    ["*lock*", ["a:lock:b", "lock"], ["LOCK", "a:lo:ck"]],
    ["job-lock:?", ["job-lock:1"], ["job-lock:12", "job-lock:"]],
    ["h[ae]llo", ["hallo", "hello"], ["hillo"]],
    ["x[^0-9]y", ["xay"], ["x1y"]],
    ["lit\\*eral", ["lit*eral"], ["literal", "litxeral"]],
    ["a.b(c)", ["a.b(c)"], ["axb(c)"]],
  ])("%s matches like Redis", (glob, yes, no) => {
    const re = globToRegExp([glob as string]);
    for (const k of yes as string[]) expect(re.test(k), k).toBe(true);
    for (const k of no as string[]) expect(re.test(k), k).toBe(false);
  });
});
