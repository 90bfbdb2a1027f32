import { describe, expect, it } from "vitest";
import type { Holder, LockRecord } from "../model";
import { StartTimes } from "./since";

const rec = (holders: string[], waiters: string[], observedAt: string): LockRecord => ({
  connection: "c",
  key: "k",
  name: "k",
  format: "redisson.fair",
  kind: "mutex",
  state: holders.length ? "held" : "free",
  holders: holders.map((id) => ({ id })),
  waiters: waiters.map((id, i) => ({ id, position: i + 1 })),
  ttlMs: null,
  ttlSource: "none",
  holding: {},
  observedAt,
  consistency: "x",
  warnings: [],
});

describe("StartTimes", () => {
  it("a waiter of a lock whose record vanished for a moment keeps its first sighting when it is queued again", () => {
    const starts = new StartTimes(45_000);
    const first = rec(["a"], ["w1", "w2"], "2026-01-01T00:00:00.100Z");
    starts.fill(undefined, first);
    expect(first.waiters.map((w) => w.since)).toEqual(["2026-01-01T00:00:00.100Z", "2026-01-01T00:00:00.100Z"]);
    starts.gone(first);
    const back = rec(["w1"], ["w2"], "2026-01-01T00:00:05.000Z");
    starts.fill(undefined, back);
    expect(back.waiters[0]).toMatchObject({ id: "w2", since: "2026-01-01T00:00:00.100Z", sinceSource: "first-seen" });
    // Without the record's departure noted, a new queue starts at its own sighting.
    const other = new StartTimes(45_000);
    const fresh = rec(["w1"], ["w2"], "2026-01-01T00:00:05.000Z");
    other.fill(undefined, fresh);
    expect(fresh.waiters[0].since).toBe("2026-01-01T00:00:05.000Z");
  });
});

describe("StartTimes on shared holders (a frozen holders array)", () => {
  const at = (s: string) => `2026-01-01T00:${s}.000Z`;
  // [what the old record had, what the fresh record's holders are]
  const cases: Array<[string, LockRecord | undefined, Holder[]]> = [
    ["new, no store time", undefined, [{ id: "a" }]],
    ["new, the store's time", undefined, [{ id: "a", since: at("01:00") }]],
    [
      "carried from the same holder",
      { ...rec(["a"], [], at("02:00")), holders: [{ id: "a", since: at("00:30"), sinceSource: "first-seen", sinceObserved: true }] },
      [{ id: "a" }],
    ],
    [
      "was queued: took over now",
      { ...rec(["b"], ["a"], at("02:00")), waiters: [{ id: "a", position: 1, since: at("00:40"), sinceSource: "first-seen" }] },
      [{ id: "a" }],
    ],
    [
      "was queued, the store's acquisition is later",
      { ...rec(["b"], ["a"], at("02:00")), waiters: [{ id: "a", position: 1, since: at("00:40"), sinceSource: "store" }] },
      [{ id: "a", since: at("01:30") }],
    ],
    [
      "two holders, one carried, one new",
      { ...rec(["a"], [], at("02:00")), holders: [{ id: "a", since: at("00:30"), sinceSource: "store" }] },
      [{ id: "a" }, { id: "c" }],
    ],
  ];

  it.each(cases)("gives what an own array gets, without writing into the shared one: %s", (_, old, holders) => {
    const own = { ...rec([], [], at("03:00")), state: "held" as const, holders: structuredClone(holders) };
    new StartTimes(45_000).fill(old && structuredClone(old), own);
    const frozen = Object.freeze(holders.map((h) => Object.freeze({ ...h }))) as unknown as Holder[];
    const shared = { ...rec([], [], at("03:00")), state: "held" as const, holders: frozen };
    new StartTimes(45_000).fill(old && structuredClone(old), shared);
    expect(shared.holders).toEqual(own.holders);
    expect(shared.holders.every((h) => h.since && h.sinceSource)).toBe(true);
    expect(Object.isFrozen(shared.holders)).toBe(true);
    expect(frozen).toEqual(holders);
  });

  it("locks first seen in one read with one shared holder share one copy; a carried start is each lock's own", () => {
    const starts = new StartTimes(45_000);
    const holders = Object.freeze([{ id: "s" }]) as unknown as Holder[];
    const fresh = (key: string) => ({ ...rec([], [], at("05:00")), key, state: "held" as const, holders });
    const [a, b, c] = [fresh("a"), fresh("b"), fresh("c")];
    starts.fill(undefined, a);
    starts.fill({ ...rec(["s"], [], at("04:00")), key: "b", holders: [{ id: "s", since: at("01:00"), sinceSource: "first-seen", sinceObserved: true }] }, b);
    starts.fill(undefined, c);
    expect(c.holders).toBe(a.holders);
    expect(b.holders[0].since).toBe(at("01:00"));
    expect(a.holders[0].since).toBe(at("05:00"));
    expect(holders[0].since).toBeUndefined();
  });
});

describe("StartTimes keeps an old record's shared holders when only the start would differ", () => {
  const at = (s: string) => `2026-01-01T00:${s}.000Z`;
  const base: Holder = {
    id: "s1",
    owner: "worker",
    ownerKey: "session:s1",
    session: { id: "s1", name: "worker", node: "n1", behavior: "release", lockDelayMs: 15_000, ttl: "15s" },
    liveness: { state: "dead", reason: "node n1 failing", node: "n1", failingChecks: [{ id: "app", status: "critical", name: "app" }] },
  };
  const frozen = (h: Holder) => Object.freeze([Object.freeze(structuredClone(h))]) as unknown as Holder[];
  const held = (key: string, observedAt: string, holders: Holder[]) => ({ ...rec([], [], observedAt), key, state: "held" as const, holders });

  it("the same holder from a later read (another object, equal details): the old array is kept", () => {
    const starts = new StartTimes(45_000);
    const first = held("a", at("01:00"), frozen(base));
    starts.fill(undefined, first);
    const again = held("a", at("02:00"), frozen(base));
    starts.fill(first, again);
    expect(again.holders).toBe(first.holders);
    expect(again.holders[0]).toMatchObject({ since: at("01:00"), sinceSource: "first-seen" });
  });

  const changes: Array<[string, (h: Holder) => void]> = [
    ["owner", (h) => (h.owner = "other")],
    ["ownerKey", (h) => (h.ownerKey = "session:other")],
    ["ownerNote", (h) => (h.ownerNote = "a note")],
    ["reentrancy", (h) => (h.reentrancy = 2)],
    ["expiresAt", (h) => (h.expiresAt = at("09:00"))],
    ["lease", (h) => (h.lease = { id: "1", ttlMs: 1, grantedTtlMs: 2 })],
    ["session node", (h) => (h.session!.node = "n2")],
    ["liveness state", (h) => (h.liveness = { state: "alive", reason: "node n1: no failing checks", node: "n1" })],
    ["a failing check's status", (h) => (h.liveness!.failingChecks![0].status = "warning")],
    ["liveness gone", (h) => (h.liveness = undefined)],
  ];

  it.each(changes)("a holder changed in %s gets a copy with the carried start and its new details", (_, change) => {
    const starts = new StartTimes(45_000);
    const first = held("a", at("01:00"), frozen(base));
    starts.fill(undefined, first);
    const changed = structuredClone(base);
    change(changed);
    const again = held("a", at("02:00"), frozen(changed));
    starts.fill(first, again);
    expect(again.holders).not.toBe(first.holders);
    expect(again.holders[0]).toEqual({ ...changed, since: at("01:00"), sinceObserved: true, sinceSource: "first-seen" });
    // The comparison's memory is per pair: the unchanged holder still keeps the old array.
    const same = held("a", at("02:00"), frozen(base));
    starts.fill(first, same);
    expect(same.holders).toBe(first.holders);
  });

  it("one shared holder compared with two old copies answers for each", () => {
    const starts = new StartTimes(45_000);
    const one = held("a", at("01:00"), frozen(base));
    const other = held("b", at("01:00"), frozen({ ...base, owner: "other" }));
    starts.fill(undefined, one);
    starts.fill(undefined, other);
    const holders = frozen(base);
    const a = held("a", at("02:00"), holders);
    const b = held("b", at("02:00"), holders);
    const a2 = held("a", at("02:00"), holders);
    starts.fill(one, a);
    starts.fill(other, b);
    starts.fill(one, a2);
    expect(a.holders).toBe(one.holders);
    expect(a2.holders).toBe(one.holders);
    expect(b.holders).not.toBe(other.holders);
    expect(b.holders[0].owner).toBe("worker");
  });
});
