// The decoder fed page by page must give exactly what the one-shot decoder gives, however the
// keyspace is cut into pages: every captured fixture, plus hand-made layouts where a queue
// crosses what would otherwise be a chunk boundary.
import { describe, expect, it } from "vitest";
import { ChunkedDecoder, decodeStructure, holderLeaseMap, type EtcdEntry } from ".";
import { loadEtcdFixture } from "../../../test/support/fixtures/etcd";
import { readdirSync } from "node:fs";
import path from "node:path";

const ctx = { connection: "e1", consistency: "linearizable", now: 0 };

/** Entries sorted the way a range returns them (bytewise), split into pages of `size` per prefix. */
function feed(entries: EtcdEntry[], prefixes: string[], size: number) {
  const d = new ChunkedDecoder(ctx);
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  for (const p of [...prefixes].sort()) {
    const under = sorted.filter((e) => e.key.startsWith(p));
    for (let i = 0; i < under.length; i += size) d.page(p, under.slice(i, i + size));
  }
  return d.finish();
}

function canon(r: ReturnType<typeof decodeStructure>) {
  return {
    locks: JSON.stringify([...r.locks].sort((a, b) => (a.key < b.key ? -1 : 1))),
    problems: JSON.stringify([...r.problems].sort((a, b) => (a.key + a.code < b.key + b.code ? -1 : 1))),
    holders: JSON.stringify(
      [
        ...holderLeaseMap(
          r.locks.map((l) => l.key),
          r.leaseOf,
        ),
      ].sort(),
    ),
  };
}

let rev = 1;
const kv = (key: string, lease: string, value = ""): EtcdEntry => {
  const r = String(rev++);
  return { key, value: Buffer.from(value), createRevision: r, modRevision: r, version: "1", lease };
};

const cases: Array<[string, EtcdEntry[], string[]]> = [
  ...readdirSync(path.join(__dirname, "..", "testdata", "etcd")).map((f): [string, EtcdEntry[], string[]] => [f, loadEtcdFixture(f).entries, [""]]),
  ["many single-holder locks", Array.from({ length: 50 }, (_, i) => kv(`locks/job-${i}/${(100 + i).toString(16)}`, String(100 + i))), ["locks/"]],
  [
    "the prefix itself is a Mutex (etcdctl lock locks): one queue over everything",
    [kv("locks/a/1f", "31"), kv("locks/20", "32"), kv("locks/b/21", "33"), kv("locks/zz", "0", "x")],
    ["locks/"],
  ],
  [
    "foreign and nested keys in deep queues",
    [kv("locks/a/b/22", "34"), kv("locks/a/23", "35"), kv("locks/a/debris", "0", "d"), kv("locks/c", "36"), kv("locks/c/24", "36")],
    ["locks/"],
  ],
  ["two prefixes", [kv("locks/x/25", "37"), kv("election/web/38", "38", "n1"), kv("election/web/39", "39", "n2")], ["locks/", "election/"]],
  ["no trailing slash on the prefix", [kv("locks/x/26", "38"), kv("locksmith/y/27", "39")], ["locks"]],
];

describe("ChunkedDecoder", () => {
  for (const [name, entries, prefixes] of cases) {
    it(`equals the one-shot decode: ${name}`, () => {
      const whole = canon(decodeStructure(entries, ctx));
      for (const size of [1, 2, 3, 1000]) expect(canon(feed(entries, prefixes, size))).toEqual(whole);
    });
  }
});
