// The blocking-query bookkeeping in watch.ts with scripted answers: which index is asked for
// next, what counts as a change, backwards indexes, recovery and 403. (live.test.ts runs the
// same code against a real agent.)

import { describe, expect, it } from "vitest";
import type { StoreChange } from "../../model";
import type { ConsulEntry, ConsulSession } from "../../formats/consul/entry";
import { ConsulError } from "./http";
import { waitFor } from "../../../scripts/servers/process";
import { blockingChanges, changedKeys, type WatchDeps } from "./watch";
import type { PrefixIndexes } from "./read";

const entry = (Key: string, ModifyIndex: number): ConsulEntry => ({ Key, Flags: "0", Value: null, LockIndex: 1, CreateIndex: 1, ModifyIndex });
const read = (index: number, entries: ConsulEntry[]): PrefixIndexes => ({ index, seen: new Map(entries.map((e) => [e.Key, e.ModifyIndex])), tooLarge: false });

/** Scripted answers per call; once they run out, a call blocks until aborted (an idle blocking query). */
function scripted<T>(answers: Array<T | Error>, asked: number[]) {
  return (index: number, signal: AbortSignal): Promise<T> => {
    asked.push(index);
    const next = answers.shift();
    if (next === undefined) return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
}

function deps(prefixAnswers: Array<PrefixIndexes | Error>, sessionAnswers: Array<{ sessions: ConsulSession[]; index: number } | Error> = []) {
  const askedKv: number[] = [];
  const askedSessions: number[] = [];
  const kv = scripted(prefixAnswers, askedKv);
  const d: WatchDeps = {
    prefixes: ["p/"],
    start: { prefixes: new Map([["p/", { index: 10, seen: [entry("p/a", 5), entry("p/b", 6)] }]]), sessions: { index: 3, ids: new Set(["s1", "s2"]) } },
    readPrefix: (_p, index, signal) => kv(index, signal),
    readSessions: scripted(sessionAnswers, askedSessions),
    keysOfSession: (id) => (id === "s1" ? ["p/a", "p/x"] : []),
  };
  return { d, askedKv, askedSessions };
}

async function take(d: WatchDeps, n: number, timeoutMs = 5_000): Promise<StoreChange[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const out: StoreChange[] = [];
  try {
    for await (const c of blockingChanges(d, ac.signal)) {
      out.push(c);
      if (out.length === n) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return out;
}

describe("changedKeys", () => {
  it("reports modified, added and deleted keys only", () => {
    expect(
      changedKeys(
        new Map([
          ["a", 1],
          ["b", 2],
          ["c", 3],
        ]),
        new Map([
          ["a", 1],
          ["b", 9],
          ["d", 4],
        ]),
      ).sort(),
    ).toEqual(["b", "c", "d"]);
  });

  it("compares a snapshot's entries as read (a list) the same way", () => {
    const snapshot = [entry("a", 1), entry("b", 2), entry("c", 3)];
    const after = new Map([
      ["a", 1],
      ["b", 9],
      ["d", 4],
    ]);
    expect(changedKeys(snapshot, after).sort()).toEqual(["b", "c", "d"]);
    expect(changedKeys(snapshot, new Map(snapshot.map((e) => [e.Key, e.ModifyIndex])))).toEqual([]);
  });
});

describe("blockingChanges", () => {
  it("blocks on the snapshot's index, then on each answer's index; yields only keys whose ModifyIndex moved", async () => {
    const { d, askedKv } = deps([read(10, [entry("p/a", 5), entry("p/b", 6)]), read(12, [entry("p/a", 5), entry("p/b", 12), entry("p/c", 11)])]);
    const [c] = await take(d, 1);
    expect(c.keys.sort()).toEqual(["p/b", "p/c"]);
    expect(askedKv.slice(0, 3)).toEqual([10, 10, 12]);
  });

  it("an index that goes backwards (agent restarted) → resync, and blocking resumes from the new index", async () => {
    const { d, askedKv } = deps([read(4, [entry("p/a", 2)]), read(6, [entry("p/a", 6)])]);
    const out = await take(d, 2);
    expect(out[0]).toEqual({ keys: [], resync: true });
    expect(out[1].keys).toEqual(["p/a"]);
    expect(askedKv.slice(0, 3)).toEqual([10, 4, 6]);
  });

  it("after a failed query it asks WITHOUT an index (an agent back with lower indexes would hold the old one) and yields resync", async () => {
    const down = new ConsulError("unreachable", "ECONNREFUSED", false);
    const { d, askedKv } = deps([down, read(3, [entry("p/a", 3)]), read(5, [entry("p/a", 5)])]);
    const out = await take(d, 2);
    expect(out[0]).toEqual({ keys: [], resync: true });
    expect(out[1].keys).toEqual(["p/a"]);
    expect(askedKv.slice(0, 3)).toEqual([10, 0, 3]);
  });

  it("a session that vanishes yields the keys it held", async () => {
    const { d } = deps([], [{ sessions: [{ ID: "s2" }], index: 7 }]);
    const [c] = await take(d, 1);
    expect(c.keys.sort()).toEqual(["p/a", "p/x"]);
  });

  it("403 ends the feed with the error (the hub then polls and the snapshot says 'not permitted')", async () => {
    const { d } = deps([new ConsulError("forbidden", "not permitted by Consul's ACLs (403): Permission denied", true, 403)]);
    await expect(take(d, 1)).rejects.toThrow(/not permitted/);
  });

  it("stops its blocking queries when the consumer stops iterating", async () => {
    let aborted = 0;
    const { d } = deps([read(11, [entry("p/a", 11), entry("p/b", 6)])]);
    const inner = d.readPrefix;
    d.readPrefix = (p, i, s) => {
      s.addEventListener("abort", () => aborted++, { once: true });
      return inner(p, i, s);
    };
    await take(d, 1);
    await waitFor(async () => aborted > 0, { timeoutMs: 2_000, what: "the parked blocking query aborted" });
  });
});
