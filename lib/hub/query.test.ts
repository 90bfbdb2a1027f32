// SortedView against the plain definition (sort every record, keep those passing every filter,
// slice the page) over sequences a table produces: typing and erasing the key filter, other
// filters and orders changing in between, the snapshot changing under a kept answer.
import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { lockStatus } from "../status";
import { SortedView, patchKeyOrder, type LockQuery } from "./query";
import { RecordMap } from "./records";
import { Rows } from "./rows";

function rec(i: number): LockRecord {
  const area = ["payments", "orders", "billing", "Payments-EU"][i % 4];
  return {
    connection: "c",
    key: `${area}:lock:${i}`,
    name: `${area}:lock:${i}`,
    format: i % 3 ? "redis.token" : "redisson.lock",
    kind: "mutex",
    state: "held",
    holders: [{ id: `Client-${(i * 7919) % 1000}` }],
    waiters: i % 5 === 0 ? [{ id: "w", position: 0 }] : [],
    ttlMs: i % 7 === 0 ? null : (i * 131) % 60_000,
    ttlSource: "pttl",
    holding: { t: "token", v: String(i) },
    observedAt: "2026-01-01T00:00:00.000Z",
    consistency: "x",
    warnings: i % 11 === 0 ? ["no-expiry"] : [],
  } as LockRecord;
}

/** The definition the cache must agree with. */
function plain(records: Map<string, LockRecord>, q: LockQuery): { total: number; keys: string[] } {
  const view = new SortedView();
  const all = view.query(records, 0, { ...q, q: undefined, format: undefined, status: undefined, warning: undefined, offset: 0, limit: records.size }).locks;
  const needle = q.q?.toLowerCase() ?? "";
  const rows = all.filter(
    (r) =>
      [r.key, ...r.holders.map((h) => h.id)].join("\u0000").toLowerCase().includes(needle) &&
      (!q.format || r.format === q.format) &&
      (!q.warning || r.warnings.includes(q.warning)) &&
      (!q.status?.length || q.status.includes(lockStatus(r))),
  );
  return { total: rows.length, keys: rows.slice(q.offset, q.offset + q.limit).map((r) => r.key) };
}

const base: LockQuery = { sort: "key", dir: "asc", offset: 0, limit: 50 };

function answer(view: SortedView, records: Map<string, LockRecord>, version: number, q: LockQuery) {
  const page = view.query(records, version, q);
  return { total: page.total, keys: page.locks.map((r) => r.key) };
}

describe("SortedView.query", () => {
  const records = new Map<string, LockRecord>();
  for (let i = 0; i < 3_000; i++) records.set(rec(i).key, rec(i));

  it("typing the key filter one key at a time and erasing it: every answer is the plain one", () => {
    const view = new SortedView();
    const text = "payments:lock:1";
    const typed = [...text].map((_, i) => text.slice(0, i + 1));
    const erased = [...typed].reverse();
    for (const q of [...typed, ...erased, "PAYMENTS", "client-12", "\u0000", "eu:lock", "zzz", ""]) {
      for (const more of [{}, { sort: "ttl" as const, dir: "desc" as const }, { offset: 100 }, { status: ["stale" as const] }]) {
        const query = { ...base, ...more, q };
        expect(answer(view, records, 1, query), JSON.stringify(query)).toEqual(plain(records, query));
      }
    }
  });

  it("a narrower text does not start from an answer that had other filters", () => {
    const view = new SortedView();
    const withFormat = { ...base, q: "pay", format: "redisson.lock" };
    expect(answer(view, records, 1, withFormat)).toEqual(plain(records, withFormat));
    const without = { ...base, q: "paym" };
    expect(answer(view, records, 1, without)).toEqual(plain(records, without));
    const otherWarning = { ...base, q: "payme", warning: "no-expiry" };
    expect(answer(view, records, 1, otherWarning)).toEqual(plain(records, otherWarning));
  });

  it("a new snapshot version drops the kept answers: an added match shows, a removed one goes", () => {
    const view = new SortedView();
    const q = { ...base, q: "payments:lock:12" };
    const before = answer(view, records, 1, q);
    expect(before).toEqual(plain(records, q));
    const changed = new Map(records);
    changed.delete("payments:lock:12");
    const added = { ...rec(4), key: "payments:lock:12999", name: "payments:lock:12999" };
    changed.set(added.key, added);
    const after = answer(view, changed, 2, { ...q, q: "payments:lock:129" });
    expect(after).toEqual(plain(changed, { ...q, q: "payments:lock:129" }));
    expect(after.keys).toContain("payments:lock:12999");
    expect(answer(view, changed, 2, q)).toEqual(plain(changed, q));
    expect(answer(view, changed, 2, q).keys).not.toContain("payments:lock:12");
  });

  it("keeps a bounded number (and size) of answers and still answers right after evicting", () => {
    const view = new SortedView();
    const texts = [...Array(40).keys()].map((i) => `lock:${i}`);
    // Broad ones (every record matches) evict by size rather than by count.
    for (const q of [...texts, "lock", "LOCK:", ":", "lock:1", "o", "lock", "c"]) {
      for (const more of [{}, { status: ["held" as const, "contended" as const] }]) {
        const query = { ...base, ...more, q };
        expect(answer(view, records, 1, query), JSON.stringify(query)).toEqual(plain(records, query));
      }
    }
  });
});

describe("SortedView over a RecordMap: the key order patched across versions", () => {
  const QUERIES: LockQuery[] = [
    { ...base, offset: 0, limit: 40 },
    { ...base, dir: "desc", offset: 7, limit: 40 },
    { ...base, sort: "ttl", offset: 3, limit: 40 },
    { ...base, sort: "ttl", dir: "desc", offset: 0, limit: 600 },
    { ...base, sort: "waiters", dir: "desc", offset: 0, limit: 600 },
    { ...base, sort: "age", offset: 100, limit: 300 },
    { ...base, q: "payments", offset: 0, limit: 25 },
    { ...base, sort: "ttl", q: "payments-", offset: 0, limit: 100 },
    { ...base, q: "snap-", offset: 0, limit: 600 },
  ];

  it("after sets of new and existing keys, deletes and snapshots, every answer equals the plain one, version after version", () => {
    let records = new RecordMap(Array.from({ length: 600 }, (_, i) => [rec(i).key, rec(i)] as const));
    const view = new SortedView();
    let next = 10_000;
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let version = 1; version <= 40; version++) {
      // 0–12 changes in most versions: new keys (some before the first key, some after the last),
      // replaced records with new holders, deletions, a key deleted and set again.
      // Every tenth version 150.
      for (let c = version % 10 === 0 ? 150 : rand(13); c > 0; c--) {
        const keys = [...records.keys()];
        const what = rand(4);
        if (what === 0) {
          const r = rec(next++);
          const key = rand(2) ? `${rand(2) ? "a" : "z"}:${r.key}` : r.key;
          records.set(key, { ...r, key, name: key });
        } else if (what === 1) {
          const key = keys[rand(keys.length)];
          records.set(key, { ...records.get(key)!, holders: [{ id: `Payments-${next++}` }], ttlMs: rand(60_000) });
        } else if (what === 2) records.delete(keys[rand(keys.length)]);
        else {
          const key = keys[rand(keys.length)];
          const r = records.get(key)!;
          records.delete(key);
          records.set(key, { ...r, holders: [] });
        }
      }
      // Every seventh version a snapshot: a new map, most records new objects with the same
      // content, some with other holders (their search texts change), some keys gone, new ones
      // (before the first key, after the last, in between): every order is made afresh.
      if (version % 7 === 0) {
        const entries: [string, LockRecord][] = [];
        for (const [key, r] of records) {
          const what = rand(10);
          if (what === 0) continue;
          entries.push([key, what === 1 ? { ...r, holders: [{ id: `Snap-${next++}` }] } : what === 2 ? r : { ...r }]);
        }
        // (Not rand(): its low bits repeat with a short period, and gave 0 new keys every time.)
        for (let c = 1 + (version % 5); c > 0; c--) {
          const r = rec(next++);
          const key = [`a:${r.key}`, `z:${r.key}`, r.key][next % 3];
          entries.push([key, { ...r, key, name: key }]);
        }
        records = new RecordMap(entries);
      }
      for (const q of QUERIES) expect(answer(view, records, version, q), `version ${version}, ${JSON.stringify(q)}`).toEqual(plain(records, q));
    }
  });

  it("after a snapshot, the key filter matches a record's new holders, not its old ones", () => {
    const first = new RecordMap(Array.from({ length: 300 }, (_, i) => [rec(i).key, rec(i)] as const));
    const view = new SortedView();
    const filtered = { ...base, q: "payments-", limit: 300 };
    answer(view, first, 1, base);
    expect(answer(view, first, 1, filtered)).toEqual(plain(first, filtered));
    const k = [...first.values()][17].key;
    const oldHolder = first.get(k)!.holders[0].id.toLowerCase();
    const second = new RecordMap(
      [...first].map(([key, r]): [string, LockRecord] => [key, key === k ? { ...r, holders: [{ id: "Payments-Moved" }] } : { ...r }]),
    );
    expect(answer(view, second, 2, base)).toEqual(plain(second, base));
    expect(answer(view, second, 2, { ...base, q: "payments-moved", limit: 10 }).keys).toEqual([k]);
    expect(answer(view, second, 2, { ...base, q: oldHolder, limit: 300 }).keys).not.toContain(k);
    expect(answer(view, second, 2, filtered)).toEqual(plain(second, filtered));
  });

  it("a few changes patch the numeric orders in place (the same rows), very many make them afresh", () => {
    const records = new RecordMap(Array.from({ length: 300 }, (_, i) => [rec(i).key, rec(i)] as const));
    const view = new SortedView();
    const ttl = { ...base, sort: "ttl" as const, limit: 300 };
    const waitersDesc = { ...base, sort: "waiters" as const, dir: "desc" as const, limit: 300 };
    const rowsOf = (id = "ttl:asc") => (view as unknown as { orders: Map<string, { rows: Rows }> }).orders.get(id)?.rows;
    answer(view, records, 1, base);
    answer(view, records, 1, ttl);
    answer(view, records, 1, waitersDesc);
    const first = rowsOf();
    const firstDesc = rowsOf("waiters:desc");
    const k = [...records.keys()][5];
    records.set(k, {
      ...records.get(k)!,
      ttlMs: 1,
      waiters: [
        { id: "w", position: 0 },
        { id: "v", position: 1 },
        { id: "u", position: 2 },
      ],
    });
    records.delete([...records.keys()][9]);
    records.set("new:x", { ...rec(3), key: "new:x" });
    expect(answer(view, records, 2, ttl)).toEqual(plain(records, ttl));
    expect(answer(view, records, 2, waitersDesc)).toEqual(plain(records, waitersDesc));
    expect(rowsOf()).toBe(first);
    expect(rowsOf("waiters:desc")).toBe(firstDesc);
    // Past RANK_PATCH_MAX (10 000) changes a numeric order is made afresh.
    for (let i = 0; i < 10_001; i++) records.set(`new:${i}`, { ...rec(i), key: `new:${i}` });
    expect(answer(view, records, 3, ttl)).toEqual(plain(records, ttl));
    expect(rowsOf()).not.toBe(first);
  });

  it("a numeric order made before the key order, with a record replaced in between (no new version), is made afresh, not patched", async () => {
    const records = new RecordMap(Array.from({ length: 200 }, (_, i) => [rec(i).key, rec(i)] as const));
    const view = new SortedView();
    const ttl = { ...base, sort: "ttl" as const, limit: 200 };
    expect(answer(view, records, 1, ttl)).toEqual(plain(records, ttl));
    // A renewal: the same holding, another TTL; the hub makes no new version for it.
    const k = [...records.keys()][10];
    records.set(k, { ...records.get(k)!, ttlMs: 59_999 });
    // The key order is made after the answer (for the next versions' patches): it holds the renewal.
    await new Promise((r) => setImmediate(r));
    records.set("new:1", { ...rec(1), key: "new:1" });
    expect(answer(view, records, 2, ttl)).toEqual(plain(records, ttl));
  });

  it("a table opened on a numeric order makes the key order after answering, and its order is patched from then on", async () => {
    const records = new RecordMap(Array.from({ length: 200 }, (_, i) => [rec(i).key, rec(i)] as const));
    const view = new SortedView();
    const ttl = { ...base, sort: "ttl" as const, limit: 200 };
    const rowsOf = () => (view as unknown as { orders: Map<string, { rows: Rows }> }).orders.get("ttl:asc")?.rows;
    answer(view, records, 1, ttl);
    const first = rowsOf();
    await new Promise((r) => setImmediate(r));
    records.set("new:1", { ...rec(1), key: "new:1" });
    expect(answer(view, records, 2, ttl)).toEqual(plain(records, ttl));
    expect(rowsOf()).toBe(first);
  });

  it("a change the journal did not see (a plain Map under it) is not patched over: the order is made afresh", () => {
    const records = new RecordMap(Array.from({ length: 50 }, (_, i) => [rec(i).key, rec(i)] as const));
    const view = new SortedView();
    expect(answer(view, records, 1, base)).toEqual(plain(records, base));
    // Behind the journal's back: Map.prototype.set, not the RecordMap's.
    const extra = { ...rec(999), key: "0:unjournaled", name: "0:unjournaled" };
    Map.prototype.set.call(records, extra.key, extra);
    records.set("1:journaled", { ...rec(998), key: "1:journaled", name: "1:journaled" });
    const after = answer(view, records, 2, base);
    expect(after).toEqual(plain(records, base));
    expect(after.keys.slice(0, 2)).toEqual(["0:unjournaled", "1:journaled"]);
  });

  it("lists the formats present as records come, change format and go", () => {
    const m = new RecordMap([
      ["a", { ...rec(1), format: "redis.token" }],
      ["b", { ...rec(2), format: "redisson.lock" }],
    ]);
    expect(m.formats()).toEqual(["redis.token", "redisson.lock"]);
    m.set("c", { ...rec(3), key: "c", format: "redis.token" });
    m.delete("a");
    expect(m.formats()).toEqual(["redis.token", "redisson.lock"]);
    m.set("c", { ...rec(3), key: "c", format: "zz.other" });
    expect(m.formats()).toEqual(["redisson.lock", "zz.other"]);
    m.delete("b");
    m.delete("nothing");
    expect(m.formats()).toEqual(["zz.other"]);
    m.clear();
    expect(m.formats()).toEqual([]);
    m.set("d", rec(4));
    expect(m.formats()).toEqual([rec(4).format]);
  });

  it("journals every set and delete until it overflows or is cleared, then says so (null)", () => {
    const m = new RecordMap([["x", rec(1)]]);
    expect([...m.takeTouched()!]).toEqual([]);
    m.set("a", rec(2));
    m.delete("x");
    m.delete("nothing");
    expect([...m.takeTouched()!].sort()).toEqual(["a", "x"]);
    m.clear();
    expect(m.takeTouched()).toBeNull();
    for (let i = 0; i <= 50_000; i++) m.set(`k${i}`, rec(i));
    expect(m.takeTouched()).toBeNull();
    expect(m.takeTouched()).toEqual(new Set());
  });
});

describe("patchKeyOrder", () => {
  for (const changes of [5, 150]) {
    it(`${changes} changes: the same rows and search texts as a fresh sort, not a refusal`, () => {
      const records = new RecordMap(Array.from({ length: 400 }, (_, i) => [rec(i).key, rec(i)] as const));
      const sorted = [...records.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
      const text = (r: LockRecord) => [r.key, ...r.holders.map((h) => h.id)].join("\u0000").toLowerCase();
      const rows = new Rows(sorted, sorted.map(text));
      records.takeTouched();
      const keys = [...records.keys()];
      for (let c = 0; c < changes; c++) {
        if (c % 3 === 0) records.delete(keys[(c * 37) % keys.length]);
        else if (c % 3 === 1) records.set(`new:${c}`, { ...rec(c), key: `new:${c}`, holders: [{ id: `H${c}` }] });
        else records.set(keys[(c * 53) % keys.length], { ...rec(c), key: keys[(c * 53) % keys.length], holders: [{ id: `Changed${c}` }] });
      }
      const patched = patchKeyOrder(rows, records, records.takeTouched()!);
      expect(patched).not.toBeNull();
      const want = [...records.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(patched!.rows.toArray()).toEqual(want);
      expect(patched!.rows.textArray()).toEqual(want.map(text));
    });
  }
});
