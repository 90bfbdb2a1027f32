// The HistoryStore contract on both back ends: SQLite (a temp file) and a real PostgreSQL
// (a throwaway cluster, test/support/postgres.ts). Plus, on PostgreSQL: one writer among replicas,
// and a server outage that the store rides out.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { PostgresHistoryStore } from "./postgres";
import { SqliteHistoryStore, type HistoryStore } from "./sqlite";
import { lifeEvent as ev } from "../../test/support/life-event";

let rig: PgRig | null = null;
const dirs: string[] = [];
beforeAll(async () => {
  rig = await startPostgres();
}, 60_000);
afterAll(async () => {
  await rig?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const MIN = 60_000;

const kinds: [string, () => Promise<HistoryStore>][] = [
  [
    "sqlite",
    async () => {
      const d = mkdtempSync(path.join(tmpdir(), "lockdeck-store-"));
      dirs.push(d);
      return new SqliteHistoryStore(path.join(d, "history.sqlite"));
    },
  ],
  [
    "postgres",
    async () => {
      if (!rig) throw new Error("PostgreSQL binaries are not installed (apt-get install postgresql)");
      const s = new PostgresHistoryStore(rig.url);
      // A clean slate per test: the cluster is shared by the tests of this file.
      await s.compact(Date.now() + 1000 * 86_400_000, { rawRetentionMs: 0, rollupRetentionMs: 0 });
      return s;
    },
  ],
];

describe.each(kinds)("HistoryStore on %s", (_name, open) => {
  it("appends and reads back one lock's events in time order, and filters by kind", async () => {
    const s = await open();
    await s.append([
      ev(2_000, "released", { holdMs: 1_000, holder: "a" }),
      ev(1_000, "acquired", { holder: "a", owner: "svc 1", waitMs: 0 }),
      ev(1_500, "acquired", { key: "other" }),
    ]);
    const got = await s.events({ connection: "c", key: "k", from: 0, to: 10_000 });
    expect(got).toEqual([ev(1_000, "acquired", { holder: "a", owner: "svc 1", waitMs: 0 }), ev(2_000, "released", { holdMs: 1_000, holder: "a" })]);
    expect(await s.events({ from: 0, to: 10_000, kinds: ["acquired"] })).toHaveLength(2);
    await s.close();
  });

  it("gaps, the heartbeat and a lost holding's cause are written with the batch and read back", async () => {
    const s = await open();
    const tag = `t${Date.now()}`; // the PostgreSQL cluster is shared by this file's tests
    await s.append([ev(5_000, "lost", { holder: "a", holdMs: 4_000, cause: "session-gone" })], {
      gaps: [{ id: `${tag}-1`, connection: "c", kind: "store-unreachable", from: 5_000, to: null, detail: "connection refused" }],
      heartbeat: 6_000,
    });
    expect((await s.events({ connection: "c", key: "k", from: 0, to: 10_000 }))[0]).toMatchObject({ kind: "lost", cause: "session-gone" });
    expect(await s.lastHeartbeat()).toBe(6_000);
    const open1 = (await s.gaps({ connection: "c", from: 0, to: 10_000 })).filter((g) => g.id.startsWith(tag));
    expect(open1).toEqual([{ id: `${tag}-1`, connection: "c", kind: "store-unreachable", from: 5_000, to: null, detail: "connection refused" }]);
    // Closed by the next batch (same id); a console-down gap (connection null) shows on every connection.
    await s.append([], {
      gaps: [
        { id: `${tag}-1`, connection: "c", kind: "store-unreachable", from: 5_000, to: 8_000 },
        { id: `${tag}-2`, connection: null, kind: "console-down", from: 9_000, to: 12_000 },
      ],
    });
    const got = (await s.gaps({ connection: "other", from: 0, to: 20_000 })).filter((g) => g.id.startsWith(tag));
    expect(got.map((g) => [g.id, g.to])).toEqual([[`${tag}-2`, 12_000]]);
    const all = (await s.gaps({ from: 7_000, to: 20_000 })).filter((g) => g.id.startsWith(tag));
    expect(all.map((g) => [g.kind, g.from, g.to])).toEqual([
      ["store-unreachable", 5_000, 8_000],
      ["console-down", 9_000, 12_000],
    ]);
    // A gap left open by a process that died is closed at a given time.
    await s.append([], { gaps: [{ id: `${tag}-3`, connection: "c", kind: "store-unreachable", from: 13_000, to: null }] });
    expect(await s.closeOpenGaps(15_000)).toBeGreaterThanOrEqual(1);
    expect((await s.gaps({ from: 12_500, to: 20_000 })).find((g) => g.id === `${tag}-3`)?.to).toBe(15_000);
    await s.close();
  });

  it("compaction folds raw events older than the raw retention into minute roll-ups, then drops old roll-ups", async () => {
    const s = await open();
    const now = 100 * MIN;
    await s.append([
      ev(10 * MIN + 1_000, "acquired", { waitMs: 40, waiters: 3 }),
      ev(10 * MIN + 2_000, "released", { holdMs: 1_000 }),
      ev(10 * MIN + 3_000, "handover"),
      ev(99 * MIN, "acquired", { waitMs: 5 }),
    ]);
    const r = await s.compact(now, { rawRetentionMs: 30 * MIN, rollupRetentionMs: 1_000 * MIN });
    expect(r.rolled).toBe(3);
    expect(await s.events({ from: 0, to: now })).toHaveLength(1);
    const rolls = await s.rollups({ from: 0, to: now });
    expect(rolls).toHaveLength(1);
    expect(rolls[0]).toMatchObject({
      minute: 10 * MIN,
      acquisitions: 1,
      handovers: 1,
      holdCount: 1,
      holdSumMs: 1_000,
      waitCount: 1,
      waitSumMs: 40,
      maxWaiters: 3,
    });
    // A second compaction of the same minute merges instead of replacing.
    await s.append([ev(10 * MIN + 4_000, "acquired", { waitMs: 10 })]);
    await s.compact(now, { rawRetentionMs: 30 * MIN, rollupRetentionMs: 1_000 * MIN });
    expect((await s.rollups({ from: 0, to: now }))[0]).toMatchObject({ acquisitions: 2, waitSumMs: 50 });
    await s.compact(now, { rawRetentionMs: 30 * MIN, rollupRetentionMs: 10 * MIN });
    expect(await s.rollups({ from: 0, to: now })).toHaveLength(0);
    await s.close();
  });
});

describe("PostgreSQL replicas", () => {
  it("only one replica writes; when it goes away another takes over", async () => {
    if (!rig) throw new Error("PostgreSQL binaries are not installed");
    const a = new PostgresHistoryStore(rig.url);
    const b = new PostgresHistoryStore(rig.url);
    expect(await a.leader()).toBe(true);
    expect(await b.leader()).toBe(false);
    expect(await a.leader()).toBe(true);
    await a.close();
    expect(await b.leader()).toBe(true);
    await b.close();
  });

  it("a server outage makes writes fail; after it is back the same store writes again", async () => {
    if (!rig) throw new Error("PostgreSQL binaries are not installed");
    const s = new PostgresHistoryStore(rig.url);
    await s.append([ev(1, "acquired", { key: "outage" })]);
    await rig.pause();
    await expect(s.append([ev(2, "released", { key: "outage" })])).rejects.toThrow();
    await rig.start();
    await s.append([ev(3, "acquired", { key: "outage" })]);
    expect((await s.events({ key: "outage", from: 0, to: 10 })).map((e) => e.at)).toEqual([1, 3]);
    await s.close();
  }, 60_000);
});
