// One timer for a session's request deadlines (deadlines.ts), on the real clock.

import { describe, expect, it } from "vitest";
import { Deadlines } from "./deadlines";
import { waitFor } from "../../../scripts/servers/process";

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
});
