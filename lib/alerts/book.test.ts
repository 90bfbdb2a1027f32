// The alert book across replicas (pure, clock passed in): what a replica that follows a
// connection owes its receivers when it takes over — the resolve of an alert it saw firing and
// then end while another replica was to notify, once, within the handover window — and nothing
// more: not for an alert that never fired, not after the window, not twice.

import { describe, expect, it } from "vitest";
import { AlertBook, type Due, type Recipient } from "./book";

const HANDOVER = 60_000;
const all: Recipient = { name: "all", repeatMs: 3_600_000, wants: () => true };
const onlyOther: Recipient = { name: "other-only", repeatMs: 3_600_000, wants: (a) => a.connection === "other" };
const recipients = [all, onlyOther];

/** What each recipient is due, as "status key" lines. */
function lines(due: Map<string, Due>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, d] of due)
    out[name] = [...d.resolved.map((a) => `resolved ${a.key}`), ...d.firing.map((a) => `firing ${a.key}`), ...d.repeat.map((a) => `repeat ${a.key}`)];
  return out;
}

function book() {
  const b = new AlertBook(0, HANDOVER);
  let reading = false;
  const take = (now: number) => lines(b.take(now, recipients, (c) => c !== "c1" || reading));
  return { b, take, takeOver: () => (reading = true), demote: () => (reading = false) };
}

describe("AlertBook across a takeover", () => {
  it("a follower resolves, on taking over, what it saw firing and then end: once, to the receivers that want it", () => {
    const { b, take, takeOver } = book();
    b.set("c1", "a", "a", ["deadlock"], 0);
    expect(take(1_000)).toEqual({ all: [], "other-only": [] });
    b.set("c1", "a", "a", [], 2_000);
    expect(take(3_000)).toEqual({ all: [], "other-only": [] });
    takeOver();
    expect(take(4_000)).toEqual({ all: ["resolved a"], "other-only": [] });
    expect(take(5_000)).toEqual({ all: [], "other-only": [] });
  });

  it("nothing for an alert that never fired, nor for one that ended longer ago than the handover window", () => {
    const { b, take, takeOver } = book();
    const forMs = new AlertBook(10_000, HANDOVER);
    forMs.set("c1", "p", "p", ["deadlock"], 0);
    forMs.take(1_000, recipients, () => false);
    forMs.set("c1", "p", "p", [], 2_000);
    forMs.take(3_000, recipients, () => false);
    expect(lines(forMs.take(4_000, recipients, () => true))).toEqual({ all: [], "other-only": [] });

    b.set("c1", "old", "old", ["deadlock"], 0);
    take(1_000);
    b.set("c1", "old", "old", [], 2_000);
    take(3_000);
    takeOver();
    expect(take(2_000 + HANDOVER + 1)).toEqual({ all: [], "other-only": [] });
  });

  it("an alert seen firing as a follower that ends after the takeover, before the new reader announced it, is resolved", () => {
    const { b, take, takeOver } = book();
    b.set("c1", "a", "a", ["deadlock"], 0);
    take(1_000);
    takeOver();
    // The new reader's first read: the lock went while nobody was reading.
    b.set("c1", "a", "a", [], 1_500);
    expect(take(2_000)).toEqual({ all: ["resolved a"], "other-only": [] });
  });

  it("one the replica sent itself, and that ends after it was demoted, it resolves as the sender, and not again on a later takeover", () => {
    const { b, take, takeOver, demote } = book();
    takeOver();
    b.set("c1", "a", "a", ["deadlock"], 0);
    expect(take(1_000)).toEqual({ all: ["firing a"], "other-only": [] });
    demote();
    take(2_000);
    b.set("c1", "a", "a", [], 2_500);
    expect(take(3_000)).toEqual({ all: ["resolved a"], "other-only": [] });
    takeOver();
    expect(take(4_000)).toEqual({ all: [], "other-only": [] });
  });

  it("a replica that sends all along resolves only what it sent, as before", () => {
    const b = new AlertBook(0, HANDOVER);
    b.set("c1", "a", "a", ["deadlock"], 0);
    expect(lines(b.take(1_000, recipients))).toEqual({ all: ["firing a"], "other-only": [] });
    b.set("c1", "a", "a", [], 2_000);
    expect(lines(b.take(3_000, recipients))).toEqual({ all: ["resolved a"], "other-only": [] });
  });
});
