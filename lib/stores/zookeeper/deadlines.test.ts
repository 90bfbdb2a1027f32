// One timer for a session's request deadlines (deadlines.ts), on the real clock.

import { describe, expect, it } from "vitest";
import { Deadlines } from "./deadlines";
import { waitFor } from "../../../scripts/servers/process";
import { collectGarbage } from "../../../scripts/bench/stats";

describe("Deadlines", () => {
  it("expires what is not answered in time, in order, never what was answered, and leaves no timer behind", async () => {
    const d = new Deadlines(150);
    const expired: string[] = [];
    const a = d.start(() => expired.push("a"));
    const b = d.start(() => expired.push("b"));
    await new Promise((r) => setTimeout(r, 60));
    const c = d.start(() => expired.push("c"));
    expect(d.answer(b)).toBe(true);
    expect(d.pending).toBe(2);
    await waitFor(async () => expired.length === 1, { timeoutMs: 2_000, what: "a expired" });
    expect(expired).toEqual(["a"]);
    expect(d.answer(a)).toBe(false); // too late: it already failed
    expect(d.armed).toBe(true); // c still waits, 60 ms behind a
    await waitFor(async () => expired.length === 2, { timeoutMs: 2_000, what: "c expired" });
    expect(expired).toEqual(["a", "c"]);
    expect(d.answer(c)).toBe(false);
    expect(d.pending).toBe(0);
    expect(d.armed).toBe(false);
  });

  it("a late request is not expired early by an earlier one's timer, and answering all clears the timer", async () => {
    const d = new Deadlines(100);
    const expired: number[] = [];
    const first = d.start(() => expired.push(1));
    await new Promise((r) => setTimeout(r, 80));
    const second = d.start(() => expired.push(2));
    d.answer(first);
    await new Promise((r) => setTimeout(r, 50)); // past first's deadline, not second's
    expect(expired).toEqual([]);
    expect(d.answer(second)).toBe(true);
    expect(d.armed).toBe(false);
    await new Promise((r) => setTimeout(r, 120));
    expect(expired).toEqual([]);
  });

  it("lets go of an answered request's expire (and what it holds) while older requests still wait", async () => {
    const d = new Deadlines(60_000);
    // The oldest request stays unanswered, as the first read of a walk's window may.
    const oldest = d.start(() => {});
    // Each expire holds what the request's promise resolved with (lib/stores/zookeeper/client.ts).
    const answers: Array<WeakRef<object>> = [];
    const open = () => {
      const answer = { nodes: new Array(1_000).fill("x") };
      answers.push(new WeakRef(answer));
      return d.start(() => void answer.nodes.length);
    };
    for (let i = 0; i < 3_000; i++) d.answer(open());
    // The oldest still waits, so the list has passed none of them: the 3 000 stay in it, without
    // their expire. One more request waits behind them.
    const last = open();
    // A WeakRef keeps its target through the job that made it.
    await new Promise((r) => setTimeout(r, 0));
    collectGarbage();
    // Only the one still waiting keeps its answer.
    expect(answers.filter((w) => w.deref() !== undefined).length).toBe(1);
    expect(d.pending).toBe(2);
    expect(d.answer(oldest)).toBe(true);
    expect(d.answer(last)).toBe(true);
    expect(d.pending).toBe(0);
    expect(d.armed).toBe(false);
  });

  it("answered in order past the list's compaction, the rest still expire, in order", async () => {
    const d = new Deadlines(150);
    const expired: number[] = [];
    const all = Array.from({ length: 2_000 }, (_, i) => d.start(() => expired.push(i)));
    // 1 024 answered from the front: the list cuts them (COMPACT_FROM) while 976 still wait.
    for (let i = 0; i < 1_024; i++) expect(d.answer(all[i])).toBe(true);
    expect(d.pending).toBe(976);
    await waitFor(async () => expired.length === 976, { timeoutMs: 2_000, what: "the 976 expired" });
    expect(expired).toEqual(Array.from({ length: 976 }, (_, i) => 1_024 + i));
    expect(d.armed).toBe(false);
  });
});
