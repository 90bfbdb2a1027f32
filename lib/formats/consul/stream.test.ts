// KvListStream: a KV list answer parsed piece by piece gives exactly what parseKv() gives of the
// whole text, wherever the pieces are cut; anything that is not one array of objects throws.

import { describe, expect, it } from "vitest";
import { LOCK_FLAGS, SEMAPHORE_FLAGS, parseKv } from "./entry";
import { KvListStream } from "./stream";

// Keys with what a splitter can trip on: escaped quotes and backslashes (a backslash run right
// before a quote, both parities), braces and brackets inside strings, multi-byte UTF-8 (2, 3
// and 4 bytes), a JSON \u escape, and a value that is a whole entry's text.
const KEYS = ['locks/a"b', "locks/back\\slash\\", 'locks/\\"quoted\\\\"', "locks/{not}/[an]/entry},{", "locks/é/日本/😀", "locks/\u0001ctl", "locks/plain"];
const body = (pretty = false) => {
  const entries = KEYS.map((k, i) => ({
    LockIndex: i,
    Key: k,
    Flags: 0,
    Value: i === 3 ? Buffer.from('{"Key":"x"}').toString("base64") : null,
    Session: i % 2 ? "1f0c1c43-7a1e-4a37-9c0b-2f4c5a1d9e01" : undefined,
    CreateIndex: 10 + i,
    ModifyIndex: 20 + i,
  }));
  const flags = [LOCK_FLAGS, SEMAPHORE_FLAGS, "18446744073709551615", "9007199254740993", "0", "42", LOCK_FLAGS];
  // Flags as exact digits in the text (JSON.stringify of a number would round them).
  const text = JSON.stringify(entries, null, pretty ? 2 : undefined);
  let k = 0;
  return { text: text.replace(/"Flags": ?0/g, (m) => m.replace("0", flags[k++])), flags };
};

function streamed(bytes: Buffer, cuts: number[], splitter?: "fast" | "exact") {
  const s = new KvListStream();
  let from = 0;
  for (const c of [...cuts, bytes.length]) {
    s.write(bytes.subarray(from, c));
    from = c;
  }
  const entries = s.end();
  if (splitter) expect(s.splitter, `pieces cut at ${cuts.join(", ")}`).toBe(splitter);
  return entries;
}

describe("KvListStream", () => {
  it("gives parseKv's entries, Flags exact, with the body cut in two at every byte position", () => {
    const { text, flags } = body();
    const bytes = Buffer.from(text, "utf8");
    const whole = parseKv(text);
    expect(whole.map((e) => e.Key)).toEqual(KEYS);
    expect(whole.map((e) => e.Flags)).toEqual(flags);
    for (let cut = 0; cut <= bytes.length; cut++) expect(streamed(bytes, [cut]), `cut at byte ${cut}`).toEqual(whole);
    // A first piece ending just after the "},{" inside KEYS[3]: that is its last "},{", the
    // fast cut there is refused and the exact splitter takes over (both ran in the loop above).
    const inKey = bytes.indexOf("entry},{") + "entry},{".length;
    expect(streamed(bytes, [inKey], "exact")).toEqual(whole);
    expect(streamed(bytes, [inKey - 10], "fast")).toEqual(whole);
  });

  it("gives the same when every byte arrives alone, and from an indented answer", () => {
    for (const pretty of [false, true]) {
      const { text } = body(pretty);
      const bytes = Buffer.from(text, "utf8");
      const got = streamed(
        bytes,
        Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
      );
      expect(got).toEqual(parseKv(text));
      expect(got[0].Flags).toBe(LOCK_FLAGS);
    }
  });

  it("every pair of cuts in a short body with escapes and UTF-8 (three pieces)", () => {
    const text = `[{"Key":"a\\\\\\"日","Flags":${LOCK_FLAGS},"LockIndex":1,"CreateIndex":1,"ModifyIndex":2},{"Key":"}\\\\","Flags":7,"LockIndex":0,"CreateIndex":3,"ModifyIndex":4}]`;
    const bytes = Buffer.from(text, "utf8");
    const whole = parseKv(text);
    expect(whole.map((e) => e.Key)).toEqual(['a\\"日', "}\\"]);
    // No "},{" inside a string here: the fast splitter does it all, wherever the cuts fall.
    for (let a = 0; a <= bytes.length; a++) for (let b = a; b <= bytes.length; b++) expect(streamed(bytes, [a, b], "fast")).toEqual(whole);
  });

  it("cuts at a separator that straddles two pieces, so the parse keeps up with the stream", () => {
    const a = `{"Key":"a","Flags":0,"LockIndex":0,"CreateIndex":1,"ModifyIndex":1}`;
    const b = `{"Key":"b","Flags":0,"LockIndex":0,"CreateIndex":2,"ModifyIndex":2}`;
    // "}" | ",{" and "}," | "{": the first entry is parsed as the second piece arrives, not at end().
    for (const [one, two] of [
      [`[${a}`, `,${b}]`],
      [`[${a},`, `${b}]`],
    ]) {
      const batches: string[] = [];
      const s = new KvListStream({ parse: (json) => (batches.push(json), parseKv(json)) });
      s.write(Buffer.from(one));
      s.write(Buffer.from(two));
      expect(batches, `${one} | ${two}`).toEqual([`[${a}]`]);
      expect(s.end().map((e) => e.Key)).toEqual(["a", "b"]);
      expect(batches).toEqual([`[${a}]`, `[${b}]`]);
    }
  });

  it("an empty array is no entries", () => {
    expect(streamed(Buffer.from(" [ ] \n"), [2])).toEqual([]);
  });

  it.each([
    ["null", "null"],
    ["an object", '{"Key":"a"}'],
    ["a cut answer", '[{"Key":"a","Flags":0}'],
    ["a cut string", '[{"Key":"a'],
    ["a missing comma", '[{"Key":"a","Flags":0}{"Key":"b","Flags":0}]'],
    ["a doubled comma", '[{"Key":"a","Flags":0},,{"Key":"b","Flags":0}]'],
    ["a trailing comma", '[{"Key":"a","Flags":0},]'],
    ["a string element", '["a"]'],
    ["text after the array", '[{"Key":"a","Flags":0}] x'],
    ["an entry that is not JSON", '[{"Key":"a",,"Flags":0}]'],
    ["an entry without a Key", '[{"Flags":0}]'],
  ])("throws on %s", (_, text) => {
    expect(() => streamed(Buffer.from(text), [Math.floor(text.length / 2)])).toThrow();
  });

  it("throws tooMany's error once more than maxEntries entries arrived", () => {
    const { text } = body();
    const s = new KvListStream({ maxEntries: 3, tooMany: (max) => new Error(`over ${max}`) });
    expect(() => s.write(Buffer.from(text))).toThrow("over 3");
    const ok = new KvListStream({ maxEntries: KEYS.length });
    ok.write(Buffer.from(text));
    expect(ok.end()).toHaveLength(KEYS.length);
  });
});
