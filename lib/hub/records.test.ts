// RecordMap's counts against a recount of its records, through the changes a hub makes:
// snapshots (the constructor), replacements that change a record's state word or waiters,
// deletes, deletes of absent keys, and clear().
import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { LOCK_STATUSES, lockStatus } from "../status";
import { RecordMap } from "./records";

function rec(key: string, i: number): LockRecord {
  return {
    key,
    format: ["redis.token", "redisson.lock", "zk.lock"][i % 3],
    state: (["held", "held", "held", "free", "unknown"] as const)[i % 5],
    warnings: i % 7 === 0 ? ["no-expiry"] : [],
    holders: [{ id: `h${i}`, lease: i % 4 === 0 ? { grantedTtlMs: 10_000 } : undefined }],
    waiters: Array.from({ length: i % 3 }, (_, p) => ({ id: `w${p}`, position: p })),
    anonymousWaiters: i % 6 === 0 ? { count: (i % 4) + 1, source: "numsub", since: "2026-01-01T00:00:00Z" } : undefined,
    ttlMs: i % 9 === 0 ? null : (i * 997) % 20_000,
  } as unknown as LockRecord;
}

function recount(m: Map<string, LockRecord>) {
  const statuses = Object.fromEntries(LOCK_STATUSES.map((s) => [s, 0])) as Record<string, number>;
  let contended = 0;
  let waiters = 0;
  for (const r of m.values()) {
    statuses[lockStatus(r)]++;
    const n = r.waiters.length + (r.anonymousWaiters?.count ?? 0);
    waiters += n;
    if (n > 0) contended++;
  }
  return { statuses, contended, waiters };
}

describe("RecordMap counts", () => {
  it("match a recount after a snapshot, thousands of replacements and deletes, and a clear", () => {
    const m = new RecordMap(Array.from({ length: 500 }, (_, i) => [`k${i}`, rec(`k${i}`, i)] as const));
    expect(m.counts()).toEqual(recount(m));
    // Every state word occurs, so a miscount of any would show.
    expect(Object.values(m.counts().statuses).every((n) => n > 0)).toBe(true);
    for (let step = 1; step <= 5_000; step++) {
      const key = `k${(step * 7919) % 700}`;
      if (step % 4 === 0) m.delete(key);
      else m.set(key, rec(key, step));
      if (step % 250 === 0) expect(m.counts()).toEqual(recount(m));
    }
    m.delete("never there");
    expect(m.counts()).toEqual(recount(m));
    m.clear();
    expect(m.counts()).toEqual(recount(m));
    m.set("again", rec("again", 6));
    expect(m.counts()).toEqual(recount(m));
    expect(m.counts()).toMatchObject({ contended: 1, waiters: 3 });
  });

  it("hands out a copy: changing it does not change the map's counts", () => {
    const m = new RecordMap([["a", rec("a", 1)]]);
    m.counts().statuses.held = 99;
    expect(m.counts()).toEqual(recount(m));
  });
});
