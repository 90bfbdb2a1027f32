// parseKv: every Flags exact (uint64, the libraries' values are above 2^53), from Consul's
// compact answers (the fast path: JSON.parse, then the digits found in the text) and from any
// other layout (the slow path).

import { describe, expect, it, vi } from "vitest";
import { LOCK_FLAGS, SEMAPHORE_FLAGS, parseKv } from "./entry";

const entry = (key: string, flags: string, extra = "") =>
  `{"LockIndex":1,"Key":${JSON.stringify(key)},"Flags":${flags},"Value":null${extra},"CreateIndex":5,"ModifyIndex":6}`;

describe("parseKv", () => {
  it("keeps every Flags exact in a compact answer, neighbours of the library values included", () => {
    const flags = [
      LOCK_FLAGS,
      "3304740253564472345", // rounds to the same double as api.Lock's value
      SEMAPHORE_FLAGS,
      "16210313421097356769", // and as api.Semaphore's
      "18446744073709551615", // the largest uint64
      "9007199254740993", // 2^53 + 1
      "9007199254740991",
      "42",
      "0",
      LOCK_FLAGS + "0", // starts with api.Lock's digits
      "18446744073709551616", // 2^64: not a uint64, kept as written
    ];
    expect(Number(flags[1])).toBe(Number(LOCK_FLAGS));
    const out = parseKv(`[${flags.map((f, i) => entry(`k/${i}`, f)).join(",")}]`);
    expect(out.map((e) => e.Flags)).toEqual(flags);
    expect(out.map((e) => e.Key)).toEqual(flags.map((_, i) => `k/${i}`));
    // The library values are the shared constants (the decoders compare them by identity first).
    expect(out[0].Flags).toBe(LOCK_FLAGS);
    expect(out[2].Flags).toBe(SEMAPHORE_FLAGS);
  });

  it("is not misled by keys, values and sessions that spell a Flags member", () => {
    const tricky = ['a,"Flags":1', '{"Flags":7}', "Flags", '\\",\\"Flags\\":9', 'Flags":3', '"Flags":', "FFlags:Flags", ',"Flags":2'];
    const text = `[${tricky.map((k) => entry(k, SEMAPHORE_FLAGS, `,"Session":${JSON.stringify(k)}`)).join(",")}]`;
    const out = parseKv(text);
    expect(out.map((e) => [e.Key, e.Flags, e.Session])).toEqual(tricky.map((k) => [k, SEMAPHORE_FLAGS, k]));
  });

  it("pairs a compact answer's Flags in one parse (the slow path parses twice), members named like Flags included", () => {
    const parse = vi.spyOn(JSON, "parse");
    try {
      const keys = ['a,"Flags":1', 'Flags":3', ',"Flags":2', "FFF"];
      const text = `[${keys.map((k, i) => entry(k, i ? "42" : LOCK_FLAGS, `,"{xFlags":7,"Session":${JSON.stringify(k)}`)).join(",")}]`;
      expect(parseKv(text).map((e) => [e.Key, e.Flags])).toEqual(keys.map((k, i) => [k, i ? "42" : LOCK_FLAGS]));
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it("falls back to the slow path, still exact, for whitespace, a missing Flags or a Flags that is not a number", () => {
    const spaced = `[ { "Key" : "a", "Flags" : ${LOCK_FLAGS}, "Value" : null, "LockIndex" : 0, "CreateIndex" : 1, "ModifyIndex" : 2 },
      {"Key":"b","Flags":3304740253564472345,"Value":null,"LockIndex":0,"CreateIndex":1,"ModifyIndex":3} ]`;
    expect(parseKv(spaced).map((e) => e.Flags)).toEqual([LOCK_FLAGS, "3304740253564472345"]);
    const missing = `[{"Key":"a","Value":null,"LockIndex":0,"CreateIndex":1,"ModifyIndex":2},${entry("b", "3304740253564472345")}]`;
    expect(parseKv(missing).map((e) => e.Flags)).toEqual(["0", "3304740253564472345"]);
    const quoted = `[{"Key":"a","Flags":"12","Value":null,"LockIndex":0,"CreateIndex":1,"ModifyIndex":2}]`;
    expect(parseKv(quoted).map((e) => e.Flags)).toEqual(["12"]);
  });

  it("gives the entries Consul's fields, normalised", () => {
    const [e] = parseKv(`[{"LockIndex":3,"Key":"x","Flags":0,"Value":"eA==","Session":"","CreateIndex":5,"ModifyIndex":9}]`);
    expect(e).toEqual({ Key: "x", Flags: "0", Value: "eA==", Session: undefined, LockIndex: 3, CreateIndex: 5, ModifyIndex: 9 });
    expect(parseKv("[]")).toEqual([]);
    expect(() => parseKv('{"Key":"x"}')).toThrow(/not a JSON array/);
  });
});
