import { describe, expect, it } from "vitest";
import { RespError, RespParser, RespProtocolError, RespWriter, type RespReply } from "./wire";

/** Every reply type, nested arrays (HSCAN's [cursor, [field, value, …]]), an empty array, nil. */
const STREAM = Buffer.from(
  [
    ":-2\r\n",
    ":1234567\r\n",
    "$5\r\nab\r\nc\r\n", // CR LF inside a bulk string is data, not an end of line
    "$0\r\n\r\n",
    "$-1\r\n",
    "+string\r\n",
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    "*2\r\n$1\r\n0\r\n*4\r\n$2\r\nf1\r\n$1\r\n1\r\n$2\r\nf2\r\n$-1\r\n",
    "*0\r\n",
    "*-1\r\n",
    "*3\r\n$3\r\nabc\r\n$-1\r\n-ERR in an array\r\n",
  ].join(""),
);

const plain = (r: RespReply): unknown =>
  Buffer.isBuffer(r) ? `bytes:${r.toString("latin1")}` : r instanceof RespError ? `error:${r.message}` : Array.isArray(r) ? r.map(plain) : r;

const EXPECTED = [
  -2,
  1234567,
  "bytes:ab\r\nc",
  "bytes:",
  null,
  "string",
  "error:WRONGTYPE Operation against a key holding the wrong kind of value",
  ["bytes:0", ["bytes:f1", "bytes:1", "bytes:f2", null]],
  [],
  null,
  ["bytes:abc", null, "error:ERR in an array"],
];

function parseInPieces(cuts: number[]): unknown[] {
  const out: RespReply[] = [];
  const p = new RespParser((r) => out.push(r));
  let from = 0;
  for (const at of [...cuts, STREAM.length]) {
    p.push(STREAM.subarray(from, at));
    from = at;
  }
  expect(p.idle).toBe(true);
  return out.map(plain);
}

describe("RespParser", () => {
  it("reads every reply type, whole", () => {
    expect(parseInPieces([])).toEqual(EXPECTED);
  });

  it("gives the same replies when the bytes arrive cut at any one or two places", () => {
    for (let i = 1; i < STREAM.length; i++) {
      expect(parseInPieces([i]), `cut at ${i}`).toEqual(EXPECTED);
      for (let j = i + 1; j < STREAM.length; j += 3) expect(parseInPieces([i, j]), `cuts at ${i}, ${j}`).toEqual(EXPECTED);
    }
  });

  it("gives the same replies one byte at a time", () => {
    expect(parseInPieces(Array.from({ length: STREAM.length - 1 }, (_, i) => i + 1))).toEqual(EXPECTED);
  });

  it("hands out a reply only once it is complete, and holds a long bulk string back until all of it came", () => {
    const out: RespReply[] = [];
    const p = new RespParser((r) => out.push(r));
    const value = Buffer.alloc(200_000, 7);
    const bytes = Buffer.concat([Buffer.from(`*2\r\n:1\r\n$${value.length}\r\n`), value, Buffer.from("\r\n")]);
    for (let i = 0; i < bytes.length; i += 16_384) {
      expect(out).toHaveLength(0);
      p.push(bytes.subarray(i, i + 16_384));
    }
    expect(out).toHaveLength(1);
    const [one, got] = out[0] as [number, Buffer];
    expect(one).toBe(1);
    expect(got.equals(value)).toBe(true);
    expect(p.idle).toBe(true);
  });

  it("refuses bytes that are not RESP: an unknown type byte, a malformed or oversized length", () => {
    for (const bad of ["?x\r\n", ":12a\r\n", "$\r\n", `$${2 ** 40}\r\n`, `*${2 ** 40}\r\n`]) {
      const p = new RespParser(() => undefined);
      expect(() => p.push(Buffer.from(bad)), bad).toThrow(RespProtocolError);
    }
  });
});

describe("RespWriter", () => {
  it("writes commands as RESP arrays of bulk strings; text as one string, bytes when an argument is binary", () => {
    const w = new RespWriter().command(["PTTL", "lock:é"]).command(["GETRANGE", "k", 0, -1]);
    expect(w.count).toBe(2);
    expect(w.take()).toBe("*2\r\n$4\r\nPTTL\r\n$7\r\nlock:é\r\n*4\r\n$8\r\nGETRANGE\r\n$1\r\nk\r\n$1\r\n0\r\n$2\r\n-1\r\n");
    expect(w.count).toBe(0);

    const key = Buffer.from([0xff, 0x0d, 0x0a, 0x00]);
    const bytes = new RespWriter().command(["MGET", "a", key, "b"]).take();
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect((bytes as Buffer).equals(Buffer.concat([Buffer.from("*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$4\r\n"), key, Buffer.from("\r\n$1\r\nb\r\n")]))).toBe(true);
  });

  it("round-trips through the parser as the arrays a server would read", () => {
    // A RESP request is itself an array of bulk strings: parse what the writer wrote.
    const out: RespReply[] = [];
    const key = Buffer.from([0xc3, 0x28, 0x0d]);
    const w = new RespWriter().command(["SCAN", "0", "COUNT", 2000]).command(["HSCAN", key, 0, "COUNT", 1000]);
    const bytes = w.take();
    new RespParser((r) => out.push(r)).push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
    expect(out.map(plain)).toEqual([
      ["bytes:SCAN", "bytes:0", "bytes:COUNT", "bytes:2000"],
      ["bytes:HSCAN", `bytes:${key.toString("latin1")}`, "bytes:0", "bytes:COUNT", "bytes:1000"],
    ]);
  });
});
