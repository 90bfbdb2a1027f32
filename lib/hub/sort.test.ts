// sortRecords, and rankOrder over the key order, against the orders' plain definitions (a
// comparator per order, ties by key), over records with ties, no expiry, no holder and odd times.
import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { compareKeys, orderByRank, rankOrder, sortRecords, type SortKey } from "./sort";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");

function rec(i: number): LockRecord {
  // Few distinct values, so most records tie with others under every numeric order.
  const since = [
    new Date(T0 + (i % 3) * 1000).toISOString(),
    // The same instant written without milliseconds (ShedLock's value): ties with i % 3 === 0.
    "2026-01-01T00:00:00Z",
    "not a time",
    undefined,
  ][i % 4];
  return {
    key: `k${(i * 7919) % 1000}:${i}`,
    holders: i % 9 === 0 ? [] : [{ id: `h${i}`, since }],
    waiters: Array.from({ length: i % 3 }, (_, p) => ({ id: `w${p}`, position: p })),
    ttlMs: i % 5 === 0 ? null : (i % 4) * 1000,
    ttlSource: (["pttl", "lease", "session", "zk-session", "none"] as const)[Math.floor(i / 5) % 5],
  } as unknown as LockRecord;
}

const sinceMs = (r: LockRecord) => {
  const t = r.holders[0]?.since === undefined ? NaN : Date.parse(r.holders[0].since);
  return Number.isNaN(t) ? Infinity : t;
};
const byNumber = (f: (r: LockRecord) => number) => (a: LockRecord, b: LockRecord) => {
  const x = f(a);
  const y = f(b);
  return x < y ? -1 : x > y ? 1 : compareKeys(a, b);
};
const PLAIN: Record<SortKey, (a: LockRecord, b: LockRecord) => number> = {
  key: compareKeys,
  // A time left the store does not report (lease unread, session) after every reported one, before no expiry.
  ttl: byNumber((r) => r.ttlMs ?? (r.ttlSource === "pttl" || r.ttlSource === "none" ? Infinity : Number.MAX_VALUE)),
  age: byNumber(sinceMs),
  waiters: byNumber((r) => r.waiters.length),
};

const byKeyMap = (rows: LockRecord[]) => new Map(rows.map((r) => [r.key, r]));

describe("sortRecords", () => {
  const records = Array.from({ length: 2_000 }, (_, i) => rec(i));
  const byKey = [...records].sort(compareKeys);

  for (const sort of ["key", "ttl", "age", "waiters"] as const) {
    it(`${sort}: the plain comparator's order, with or without the key order at hand`, () => {
      const want = [...records].sort(PLAIN[sort]).map((r) => r.key);
      expect(sortRecords(byKeyMap(records), sort).map((r) => r.key)).toEqual(want);
      // With the key order at hand (as lib/hub/query.ts has it): its ranks' order, nothing else.
      const fromKeys = sort === "key" ? byKey : [...rankOrder(byKey, sort).order].map((i) => byKey[i]);
      expect(fromKeys.map((r) => r.key)).toEqual(want);
    });
  }

  it("key: code-unit order, as compareKeys — case, accents, astral characters (surrogate pairs), lone surrogates, prefixes, the empty key", () => {
    const keys = ["b", "B", "a", "ab", "", "é", "e\u0301", "\uD83D\uDE00", "\uFFFF", "\uD800", "\uDC00x", "lock:10", "lock:9", "lock:", "Z\u0000", "Z"];
    const rows = keys.map((key) => ({ key }) as LockRecord);
    expect(sortRecords(byKeyMap(rows), "key").map((r) => r.key)).toEqual([...rows].sort(compareKeys).map((r) => r.key));
  });

  it("leaves the key order it was given as it was", () => {
    const before = byKey.map((r) => r.key);
    rankOrder(byKey, "ttl").order.reverse();
    expect(byKey.map((r) => r.key)).toEqual(before);
  });

  it("age: no holder and an unparsable time sort after every real time; equal instants tie by key", () => {
    const rows = sortRecords(byKeyMap(records), "age");
    const firstLast = rows.findIndex((r) => sinceMs(r) === Infinity);
    expect(rows.slice(firstLast).every((r) => sinceMs(r) === Infinity)).toBe(true);
    expect(rows.slice(0, firstLast).some((r) => r.holders[0].since === "2026-01-01T00:00:00Z")).toBe(true);
  });
});

describe("orderByRank", () => {
  it("ascending over negative, zero, fractional, huge and infinite ranks; equal ranks in index order", () => {
    const ranks = [3, -1.5, Infinity, 0, -0, 1e15, -Infinity, 3, 0.25, -1e-300, 1.7e12, 3, -1.5, 2 ** 53 + 2];
    const order = [...orderByRank(Float64Array.from(ranks, (x) => x + 0))];
    const want = ranks.map((_, i) => i).sort((i, j) => (ranks[i] < ranks[j] ? -1 : ranks[i] > ranks[j] ? 1 : i - j));
    expect(order).toEqual(want);
  });

  it("ttl: reported TTLs soonest first, then the time left no store reports (lease unread, Consul or ZooKeeper session), then no expiry", () => {
    const rows = (
      [
        ["a-persist", null, "pttl"],
        ["b-lease-unread", null, "lease"],
        ["c-60s", 60_000, "lease"],
        ["d-zk", null, "zk-session"],
        ["e-no-ttl", null, "none"],
        ["f-consul", null, "session"],
        ["g-1s", 1_000, "pttl"],
      ] as const
    ).map(([key, ttlMs, ttlSource]) => ({ key, ttlMs, ttlSource }) as unknown as LockRecord);
    expect(sortRecords(byKeyMap(rows), "ttl").map((r) => r.key)).toEqual(["g-1s", "c-60s", "b-lease-unread", "d-zk", "f-consul", "a-persist", "e-no-ttl"]);
  });

  it("a long run of one rank (every lock without expiry) keeps its key order; a run that breaks the digit shortcut too", () => {
    const n = 70_000;
    const ranks = Float64Array.from({ length: n }, (_, i) => (i % 10 === 0 ? i : Infinity));
    const order = orderByRank(ranks);
    const finite = Array.from({ length: n / 10 }, (_, k) => k * 10);
    const infinite = Array.from({ length: n }, (_, i) => i).filter((i) => i % 10 !== 0);
    expect([...order]).toEqual([...finite, ...infinite]);
    expect(sortRecords(byKeyMap(Array.from({ length: n }, (_, i) => ({ key: `k${n - i}`, ttlMs: null }) as unknown as LockRecord)), "ttl")[0].key).toBe("k1");
  });
});
