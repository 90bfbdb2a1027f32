import { describe, expect, it } from "vitest";
import { escapeControls, keyFromBytes, keyToBytes, suspects, visibleLength, visibleText } from "./keys";
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

  it("bidi controls, zero-width and format characters and unusual spaces are escaped too, and escaping twice changes nothing", () => {
    const text = "a\u202eb\u200bc\ufeffd\u2060e\u00a0f\u2066g\u061ch\u200fi\u3000j";
    const once = escapeControls(text);
    expect(once).toBe("a\\u202eb\\u200bc\\ufeffd\\u2060e\\u00a0f\\u2066g\\u061ch\\u200fi\\u3000j");
    expect(escapeControls(once)).toBe(once);
    // Ordinary text, non-ASCII included, is left alone.
    expect(escapeControls("ключ:café — 🔒 a b")).toBe("ключ:café — 🔒 a b");
  });
});

describe("keys as shown: different keys never read the same", () => {
  const base = "e2e:lock:orders";
  const lookalikes = [
    base,
    base + "\u200b",
    base + " ",
    " " + base,
    base + "\u00a0",
    "e2e:lock:\u043erders", // Cyrillic о
    "e2e:lock:\u202esredro", // RLO: shows as "orders"
    "e2e:lock:ord\u2060ers",
    "e2e:lock:\uff4frders", // fullwidth o
    "e2e:lock:\u03bfrders", // Greek omicron
    "e2e:lock:caf\u00e9",
    "e2e:lock:cafe\u0301", // the same text in NFD
    "e2e:lock:a  b",
    "e2e:lock:a b",
    "e2e:lock:\u0441\u043e\u0440", // Cyrillic "сор", all look-alikes, after Latin
    "e2e:lock:cop",
    "e2e:lock\ua789orders", // modifier letter colon
  ];

  it("each renders a different text, and only the plain ones are not suspicious", () => {
    const shown = lookalikes.map(visibleText);
    expect(new Set(shown).size).toBe(lookalikes.length);
    for (const [i, k] of lookalikes.entries()) {
      // Nothing invisible, no bidi control, no odd or edge space is left in the shown text.
      expect(shown[i], JSON.stringify(k)).not.toMatch(/[\u200b\u2060\u202e\u00a0\ufeff]|^ | $|  /);
      // What is shown is printable ASCII unless the key is ordinary non-ASCII text.
      if (![base, "e2e:lock:caf\u00e9", "e2e:lock:a b", "e2e:lock:cop"].includes(k)) expect(suspects(k), JSON.stringify(k)).not.toEqual([]);
    }
    expect(suspects(base)).toEqual([]);
  });

  it("names the characters by code point and kind", () => {
    expect(visibleText(base + "\u200b")).toBe(base + "\\u200b");
    expect(suspects(base + "\u200b")).toEqual(["U+200B invisible"]);
    expect(visibleText(base + " ")).toBe(base + "\\x20");
    expect(suspects(base + " ")).toEqual(["U+0020 trailing space"]);
    expect(suspects(" " + base)).toEqual(["U+0020 leading space"]);
    expect(visibleText(base + "\u00a0")).toBe(base + "\\u00a0");
    expect(suspects(base + "\u00a0")).toEqual(["U+00A0 unusual space"]);
    expect(visibleText("e2e:lock:\u043erders")).toBe("e2e:lock:\\u043erders");
    expect(suspects("e2e:lock:\u043erders")).toEqual(["U+043E Cyrillic letter among Latin ones"]);
    expect(visibleText("e2e:lock:\u202esredro")).toBe("e2e:lock:\\u202esredro");
    expect(suspects("e2e:lock:\u202esredro")).toEqual(["U+202E bidi control, reorders text"]);
    expect(visibleText("e2e:lock:cafe\u0301")).toBe("e2e:lock:cafe\\u0301");
    expect(suspects("e2e:lock:\uff4frders")).toEqual(["U+FF4F looks like “o”"]);
    expect(suspects("e2e:lock:\u0441\u043e\u0440")[0]).toBe("U+0441 Cyrillic letter that looks Latin");
  });

  it("ordinary non-ASCII text stays readable", () => {
    for (const k of [
      "заказы:ключ",
      "lock:заказы",
      "lock:café",
      "Straße/naïve",
      "lock:注文",
      "Javaエラー",
      "lock:🔒",
      "αβγ:δ",
      "127.0.0.1 · session 0x10…90002 — ≥5s",
    ]) {
      expect(visibleText(k), k).toBe(k);
      expect(suspects(k), k).toEqual([]);
    }
  });

  it("escaping what is shown again changes nothing", () => {
    for (const k of lookalikes) expect(visibleText(visibleText(k))).toBe(visibleText(k));
  });
});

describe("visibleLength (the required reason)", () => {
  it("counts what can be seen", () => {
    expect(visibleLength("\u200b\u200b\u200b")).toBe(0);
    expect(visibleLength("\u00a0\u2060\ufeff\u202e  \n\t")).toBe(0);
    expect(visibleLength("INC-1")).toBe(5);
    expect(visibleLength("a\u200bb")).toBe(2);
    expect(visibleLength("cafe\u0301")).toBe(4);
    expect(visibleLength("сбой")).toBe(4);
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
