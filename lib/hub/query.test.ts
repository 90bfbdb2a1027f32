// SortedView against the plain definition (sort every record, keep those passing every filter,
// slice the page) over sequences a table produces: typing and erasing the key filter, other
// filters and orders changing in between, the snapshot changing under a kept answer.
import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { lockStatus } from "../status";
import { SortedView, type LockQuery } from "./query";

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
