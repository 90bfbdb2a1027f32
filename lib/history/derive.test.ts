import { describe, expect, it } from "vitest";
import type { LockRecord } from "../model";
import { DEPARTED_GRACE_MS, derive, expireDeparted, refreshExpiry, type Memo } from "./derive";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function rec(holders: [string, number][], waiters: [string, number][] = [], opts: { ttlMs?: number | null; at?: number } = {}): LockRecord {
  return {
    connection: "c",
    key: "k",
    name: "k",
    format: "memory.mutex",
    kind: "mutex",
    state: holders.length ? "held" : "free",
    holders: holders.map(([id, since]) => ({ id, owner: `o-${id}`, since: iso(since) })),
    waiters: waiters.map(([id, since], i) => ({ id, position: i, since: iso(since) })),
    ttlMs: opts.ttlMs === undefined ? null : opts.ttlMs,
    ttlSource: "lease",
    holding: { t: "none" },
    observedAt: iso(opts.at ?? 0),
    consistency: "x",
    warnings: [],
  };
}
const ctx = (at: number, extra: Partial<{ resMs: number; baseline: boolean }> = {}) => ({
  connection: "c",
  key: "k",
  at: T0 + at,
  resMs: 0,
  baseline: false,
  ...extra,
});

function run(steps: [LockRecord | null, number][], first?: Memo) {
  let memo = first;
  const events = [];
  for (const [r, at] of steps) {
    const out = derive(memo, r, ctx(at));
    memo = out.memo;
    events.push(...out.events);
  }
  return events.map((e) => ({ ...e, at: e.at - T0 }));
}

describe("derive", () => {
  it("acquire then release: hold time from the store's since", () => {
    const ev = run([
      [rec([["a", 100]]), 120],
      [null, 1_100],
    ]);
    expect(ev.map((e) => [e.kind, e.at, e.holdMs ?? e.waitMs])).toEqual([
      ["acquired", 100, 0],
      ["released", 1_100, 1_000],
    ]);
  });

  it("a waiter that becomes holder (same id) waited from its since; the change is a handover", () => {
    const ev = run([
      [rec([["a", 0]]), 0],
      [rec([["a", 0]], [["b", 200]]), 200],
      [rec([["b", 900]]), 900],
    ]);
    expect(ev.map((e) => e.kind)).toEqual(["acquired", "waiter-joined", "released", "acquired", "handover"]);
    const acq = ev.filter((e) => e.kind === "acquired")[1];
    expect(acq.waitMs).toBe(700);
    expect(ev.find((e) => e.kind === "released")!.holdMs).toBe(900);
    expect(ev.find((e) => e.kind === "waiter-joined")!.waiters).toBe(1);
  });

  it("a waiter with another id that left as a new holder appeared is taken as that holder's wait", () => {
    const ev = run([
      [rec([["a", 0]], [["w1", 100]]), 100],
      [rec([["h2", 500]]), 500],
    ]);
    expect(ev.find((e) => e.kind === "acquired" && e.holder === "h2")!.waitMs).toBe(400);
    expect(ev.some((e) => e.kind === "waiter-left")).toBe(false);
  });

  it("a waiter that leaves without holding is waiter-left with its wait (once the reorder grace has passed)", () => {
    let { memo } = derive(undefined, rec([["a", 0]], [["w", 100]]), ctx(100));
    ({ memo } = derive(memo, rec([["a", 0]]), ctx(2_100)));
    const ev = expireDeparted(memo!, { connection: "c", key: "k" }, T0 + 2_100 + DEPARTED_GRACE_MS).events;
    expect(ev.at(-1)).toMatchObject({ kind: "waiter-left", waitMs: 2_000, waiters: 0, at: T0 + 2_100 });
  });

  it("a holding that vanishes after its last known expiry has expired", () => {
    const ev = run([
      [rec([["a", 0]], [], { ttlMs: 3_000 }), 0],
      [null, 3_100],
    ]);
    expect(ev.at(-1)).toMatchObject({ kind: "expired", holdMs: 3_100 });
  });

  it("a holding that ends after the store showed its client gone (liveness dead) expired, cause holder-gone; one whose client was alive again was released", () => {
    const dead = (r: LockRecord, state: "dead" | "alive" | "unknown"): LockRecord => ({
      ...r,
      holders: r.holders.map((h) => ({ ...h, liveness: { state, reason: state } })),
    });
    // Seen alive, then dead (the session lingers until its timeout), then gone: the session expired.
    const ev = run([
      [dead(rec([["a", 0]]), "alive"), 0],
      [dead(rec([["a", 0]]), "dead"), 5_000],
      [null, 10_000],
    ]);
    expect(ev.at(-1)).toMatchObject({ kind: "expired", cause: "holder-gone", holdMs: 10_000, holder: "a" });
    // A handover after the holder was seen dead: the old holding expired, then the next acquired.
    const hand = run([
      [dead(rec([["a", 0]], [["b", 100]]), "dead"), 200],
      [rec([["b", 9_000]]), 9_000],
    ]);
    expect(hand.map((e) => [e.kind, e.holder, e.cause])).toEqual([
      ["acquired", "a", undefined],
      ["waiter-joined", "b", undefined],
      ["expired", "a", "holder-gone"],
      ["acquired", "b", undefined],
      ["handover", "b", undefined],
    ]);
    // Dead, then alive again (it came back), then gone: a release. Unknown liveness is no claim.
    for (const last of ["alive", "unknown"] as const) {
      const back = run([
        [dead(rec([["a", 0]]), "dead"), 0],
        [dead(rec([["a", 0]]), last), 1_000],
        [null, 2_000],
      ]);
      expect(back.at(-1), last).toMatchObject({ kind: "released", cause: undefined });
    }
    // The one-holder memo keeps it too (most locks' memo).
    const { memo } = derive(undefined, dead(rec([["a", 0]]), "dead"), ctx(0));
    expect(memo!.holders[0]).toBe(memo);
    expect(memo).toMatchObject({ gone: true });
  });

  it("a holding whose record says its session ended with it (Consul) expired, cause session-ended; another session's end says nothing of it", () => {
    const held = { ...rec([["a", 0]]), holders: [{ id: "a", since: iso(0), session: { id: "s-a" } }] } as LockRecord;
    const after = (session: string): LockRecord => ({ ...rec([]), ended: [{ session, cause: "session-ended" }] });
    expect(
      run([
        [held, 0],
        [after("s-a"), 3_000],
      ]).at(-1),
    ).toMatchObject({ kind: "expired", cause: "session-ended", holdMs: 3_000 });
    expect(
      run([
        [held, 0],
        [after("s-other"), 3_000],
      ]).at(-1),
    ).toMatchObject({ kind: "released", cause: undefined });
  });

  it("renewals seen through refreshExpiry keep a late release a release", () => {
    let { memo } = derive(undefined, rec([["a", 0]], [], { ttlMs: 3_000 }), ctx(0));
    memo = refreshExpiry(memo!, rec([["a", 0]], [], { ttlMs: 3_000, at: 4_000 }));
    const { events } = derive(memo, null, ctx(5_000));
    expect(events[0].kind).toBe("released");
  });

  it("before the first snapshot completes, holders are seen, not acquired", () => {
    const { events, memo } = derive(undefined, rec([["a", -60_000]]), ctx(0, { baseline: true }));
    expect(events).toMatchObject([{ kind: "seen", holder: "a", at: T0 - 60_000 }]);
    expect(derive(memo, null, ctx(1_000)).events[0]).toMatchObject({ kind: "released", holdMs: 61_000 });
  });

  it("an unchanged record derives nothing; observed since (no store time) starts at the observation", () => {
    const r = { ...rec([["a", 0]]), holders: [{ id: "a", since: iso(0), sinceObserved: true }] };
    const first = derive(undefined, r, ctx(500));
    expect(first.events[0]).toMatchObject({ kind: "acquired", at: T0 + 500 });
    expect(derive(first.memo, r, ctx(900)).events).toEqual([]);
  });

  it("a lock with one holder and nobody waiting is remembered as one object, and reads as a whole memo", () => {
    const { memo } = derive(undefined, rec([["a", 0]], [], { ttlMs: 3_000 }), ctx(100));
    // Memos live as long as their lock (100k locks, 100k memos): no separate list and entry.
    expect(memo!.holders).toHaveLength(1);
    expect(memo!.holders[0]).toBe(memo);
    expect(memo).toMatchObject({ id: "a", owner: "o-a", since: T0, waiters: [], expiresAt: T0 + 3_000, departed: undefined });
    // A waiter joins: a full memo again; it leaves and is pending: still full; then one object again.
    const queued = derive(memo, rec([["a", 0]], [["w", 200]], { ttlMs: 3_000 }), ctx(200));
    expect(queued.events).toMatchObject([{ kind: "waiter-joined", holder: "w" }]);
    expect(queued.memo!.holders[0]).not.toBe(queued.memo);
    const left = derive(queued.memo, rec([["a", 0]], [], { ttlMs: 3_000 }), ctx(300));
    expect(left.memo!.departed).toHaveLength(1);
    const gone = expireDeparted(left.memo!, { connection: "c", key: "k" }, T0 + 300 + DEPARTED_GRACE_MS);
    expect(gone.events).toMatchObject([{ kind: "waiter-left", holder: "w" }]);
    expect(gone.memo.holders[0]).toBe(gone.memo);
    expect(derive(gone.memo, null, ctx(400)).events).toMatchObject([{ kind: "released", holder: "a", holdMs: 400 }]);
  });

  it("polling resolution is carried on every event", () => {
    const { events } = derive(undefined, rec([["a", 0]]), ctx(0, { resMs: 5_000 }));
    expect(events[0].resMs).toBe(5_000);
  });
});

describe("derive: queue reorders, anonymous waiters, gaps", () => {
  it("a lock that vanishes for a moment between holders: a waiter still queued after it keeps its first start, even when later records give a later one", () => {
    // Redisson fair lock: the hash is gone between release and the next acquire; the console's
    // first sighting of the queue after that is later than the waiter's real start.
    const ev = run([
      [
        rec(
          [["a", 0]],
          [
            ["w1", 100],
            ["w2", 100],
          ],
        ),
        100,
      ],
      [null, 5_000],
      [rec([["w1", 5_010]], [["w2", 5_010]]), 5_010],
      [rec([["w1", 5_010]], [["w2", 5_010]]), 5_200],
      [rec([["w2", 5_600]]), 5_600],
    ]);
    expect(ev.filter((e) => e.kind === "acquired").map((e) => [e.holder, e.waitMs])).toEqual([
      ["a", 0],
      ["w1", 4_910],
      ["w2", 5_500],
    ]);
    expect(ev.some((e) => e.kind === "waiter-left")).toBe(false);
  });

  it("a waiter that drops out and re-queues within the grace (a fair-queue reorder) is no departure and keeps its wait", () => {
    let memo: Memo | undefined;
    const step = (r: LockRecord | null, at: number) => {
      const out = derive(memo, r, ctx(at));
      memo = out.memo;
      return out.events;
    };
    const evs = [
      ...step(
        rec(
          [["a", 0]],
          [
            ["w1", 100],
            ["w2", 200],
          ],
        ),
        200,
      ),
      ...step(rec([["a", 0]], [["w2", 200]]), 5_000), // w1 dropped as stale head
      ...step(
        rec(
          [["a", 0]],
          [
            ["w2", 200],
            ["w1", 6_000],
          ],
        ),
        6_000,
      ), // …and re-queued at the tail
    ];
    expect(evs.filter((e) => e.kind === "waiter-left" || e.kind === "waiter-joined").map((e) => [e.kind, e.holder])).toEqual([
      ["waiter-joined", "w1"],
      ["waiter-joined", "w2"],
    ]);
    expect(memo!.departed).toBeUndefined();
    // When it finally holds, its wait runs from when it first queued.
    const done = step(rec([["w1", 9_000]], [["w2", 200]]), 9_000);
    expect(done.find((e) => e.kind === "acquired")).toMatchObject({ holder: "w1", waitMs: 8_900 });
    expect(expireDeparted(memo!, { connection: "c", key: "k" }, T0 + 60_000).events).toEqual([]);
  });

  it("a departure that does not come back is reported after the grace, at the time it left", () => {
    let { memo } = derive(undefined, rec([["a", 0]], [["w1", 100]]), ctx(100));
    ({ memo } = derive(memo, rec([["a", 0]]), ctx(2_100)));
    expect(expireDeparted(memo!, { connection: "c", key: "k" }, T0 + 2_100 + DEPARTED_GRACE_MS - 1).events).toEqual([]);
    const out = expireDeparted(memo!, { connection: "c", key: "k" }, T0 + 2_100 + DEPARTED_GRACE_MS);
    expect(out.events).toMatchObject([{ kind: "waiter-left", holder: "w1", at: T0 + 2_100, waitMs: 2_000 }]);
    expect(out.memo.departed).toBeUndefined();
  });

  it("anonymous waiters are counted slots: new ones start now, the oldest leave first, and one that leaves as a holder appears is its wait", () => {
    const anon = (count: number, since: number) => ({ count, source: "PUBSUB NUMSUB ch", since: iso(since) });
    let memo: Memo | undefined;
    const step = (r: LockRecord, at: number) => {
      const out = derive(memo, r, ctx(at));
      memo = out.memo;
      return out.events;
    };
    const held = (n: number, since: number, holder: [string, number] = ["a", 0]) => ({ ...rec([holder]), anonymousWaiters: n ? anon(n, since) : undefined });
    const e1 = step(held(2, 1_000), 1_000);
    const e2 = step(held(3, 1_000), 4_000);
    expect([...e1, ...e2].filter((e) => e.kind === "waiter-joined").map((e) => e.at - T0)).toEqual([1_000, 1_000, 4_000]);
    // The holder changes and one waiter left in the same change: the oldest slot was its wait.
    const e3 = step(held(2, 1_000, ["b", 10_000]), 10_000);
    expect(e3.find((e) => e.kind === "acquired")).toMatchObject({ holder: "b", waitMs: 9_000 });
    expect(memo!.waiters.map((w) => w.since - T0)).toEqual([1_000, 4_000]);
  });

  it("across a gap, a holding that vanished is lost at the gap's start (not released); its cause says what is known", () => {
    const withSession = (id: string, session: string) => ({
      ...rec([[id, 0]], [], { ttlMs: null }),
      holders: [{ id, since: iso(0), session: { id: session } }],
    });
    const { memo } = derive(undefined, withSession("n1", "s1"), ctx(0));
    const gap = { from: T0 + 5_000, liveSessions: new Set(["s2"]) };
    const out = derive(memo, null, { ...ctx(20_000), gap });
    expect(out.events).toMatchObject([{ kind: "lost", at: T0 + 5_000, holdMs: 5_000, cause: "session-gone" }]);
    const ttl = derive(derive(undefined, rec([["t", 0]], [], { ttlMs: 2_000 }), ctx(0)).memo, null, { ...ctx(20_000), gap: { from: T0 + 1_000 } });
    expect(ttl.events[0]).toMatchObject({ kind: "lost", cause: "ttl-ran-out" });
  });
});
