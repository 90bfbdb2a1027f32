import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryLockStore, type AcquireResult, type Holding } from "./store";
import { fakeClock, soon, T0 } from "../../../test/support/clock";

function setup() {
  const clock = fakeClock();
  const store = new MemoryLockStore({ now: clock.now });
  const events: string[][] = [];
  store.subscribe((keys) => events.push(keys));
  return { clock, store, events };
}

function acquired(result: AcquireResult): Holding {
  if (result.status !== "acquired") throw new Error(`expected acquired, got ${result.status}`);
  return result.holding;
}

function queued(result: AcquireResult) {
  if (result.status !== "queued") throw new Error(`expected queued, got ${result.status}`);
  return result;
}

const req = (owner: string, ttlMs: number | null = 10_000) => ({ owner, holderId: owner, ttlMs });

describe("MemoryLockStore", () => {
  afterEach(() => void vi.useRealTimers());

  it("grants a free lock with a lease and fencing token 1", () => {
    const { store } = setup();
    const h = acquired(store.acquire("orders:payout", req("a")));
    expect(h).toEqual({
      holderId: "a",
      owner: "a",
      acquiredAt: T0,
      ttlMs: 10_000,
      expiresAt: T0 + 10_000,
      lastRenewedAt: T0,
      fencingToken: 1,
    });
    expect(store.lock("orders:payout")?.holdings).toHaveLength(1);
  });

  it("queues FIFO and hands over to the head on release, with increasing fencing tokens", async () => {
    const { store, clock } = setup();
    acquired(store.acquire("l", req("a")));
    clock.advance(10);
    const b = queued(store.acquire("l", { ...req("b"), waitMs: 60_000 }));
    clock.advance(10);
    const c = queued(store.acquire("l", req("c")));
    expect(store.lock("l")?.waiters.map((w) => [w.waiterId, w.enqueuedAt, w.deadline])).toEqual([
      ["b", T0 + 10, T0 + 60_010],
      ["c", T0 + 20, null],
    ]);

    clock.advance(100);
    expect(store.release("l", "a")).toBe(true);
    const hb = await soon(b.granted);
    expect(hb).toMatchObject({ holderId: "b", acquiredAt: T0 + 120, fencingToken: 2 });
    expect(store.lock("l")?.waiters.map((w) => w.waiterId)).toEqual(["c"]);

    expect(store.release("l", "b")).toBe(true);
    expect(await soon(c.granted)).toMatchObject({ holderId: "c", fencingToken: 3 });
    expect(store.release("l", "c")).toBe(true);
    expect(store.lock("l")).toBeUndefined();
    expect(store.locks()).toEqual([]);
  });

  it("keeps the fencing counter when the lock goes idle", () => {
    const { store } = setup();
    acquired(store.acquire("l", req("a")));
    store.release("l", "a");
    expect(acquired(store.acquire("l", req("b"))).fencingToken).toBe(2);
  });

  it("expires a lease and hands over at the expiry instant, even when noticed late", async () => {
    const { store, clock, events } = setup();
    acquired(store.acquire("l", req("a", 1_000)));
    const b = queued(store.acquire("l", req("b", 1_000)));
    const c = queued(store.acquire("l", req("c", 5_000)));
    events.length = 0;

    clock.advance(2_500); // a expired at +1000, b at +2000; nobody looked
    const view = store.lock("l")!;
    expect(view.holdings).toEqual([expect.objectContaining({ holderId: "c", acquiredAt: T0 + 2_000, expiresAt: T0 + 7_000, fencingToken: 3 })]);
    expect(await soon(b.granted)).toMatchObject({ holderId: "b", acquiredAt: T0 + 1_000, fencingToken: 2 });
    expect((await soon(c.granted))?.holderId).toBe("c");
    expect(events).toEqual([["l"]]);

    clock.advance(5_000);
    expect(store.lock("l")).toBeUndefined();
  });

  it("renew resets the lease; a lapsed holding cannot be renewed", () => {
    const { store, clock } = setup();
    acquired(store.acquire("l", req("a", 1_000)));
    clock.advance(900);
    expect(store.renew("l", "a")).toBe(true);
    expect(store.lock("l")?.holdings[0]).toMatchObject({ expiresAt: T0 + 1_900, lastRenewedAt: T0 + 900 });
    clock.advance(1_000);
    expect(store.renew("l", "a")).toBe(false);
    expect(store.lock("l")).toBeUndefined();
  });

  it("never expires a lock taken without a TTL", () => {
    const { store, clock } = setup();
    acquired(store.acquire("report:nightly", req("cron", null)));
    clock.advance(10 * 365 * 24 * 3600_000);
    expect(store.lock("report:nightly")?.holdings[0]).toMatchObject({ holderId: "cron", ttlMs: null, expiresAt: null });
  });

  it("releaseIf releases only the exact holding: released, changed, gone", () => {
    const { store } = setup();
    const a = acquired(store.acquire("l", req("a")));
    expect(store.releaseIf("l", "a", a.fencingToken + 1)).toBe("changed");
    expect(store.releaseIf("l", "x", a.fencingToken)).toBe("changed");
    expect(store.releaseIf("l", "a", a.fencingToken)).toBe("released");
    expect(store.releaseIf("l", "a", a.fencingToken)).toBe("gone");
    expect(store.releaseIf("never-seen", "a", 1)).toBe("gone");

    // Same holder id again, new token: the old fence must not match it.
    const again = acquired(store.acquire("l", req("a")));
    expect(store.releaseIf("l", "a", a.fencingToken)).toBe("changed");
    expect(store.releaseIf("l", "a", again.fencingToken)).toBe("released");
  });

  it("releaseIf answers gone once the lease has expired", () => {
    const { store, clock } = setup();
    const a = acquired(store.acquire("l", req("a", 1_000)));
    clock.advance(1_000);
    expect(store.releaseIf("l", "a", a.fencingToken)).toBe("gone");
  });

  it("gives a semaphore's permits to as many holders, then queues", async () => {
    const { store } = setup();
    const sem = (id: string) => store.acquire("exports/csv", { ...req(id), kind: "semaphore", permits: 3 });
    const tokens = ["a", "b", "c"].map((id) => acquired(sem(id)).fencingToken);
    expect(tokens).toEqual([1, 2, 3]);
    const d = queued(sem("d"));
    expect(store.lock("exports/csv")).toMatchObject({ kind: "semaphore", permits: 3 });
    store.release("exports/csv", "b");
    expect(await soon(d.granted)).toMatchObject({ holderId: "d", fencingToken: 4 });
    expect(store.lock("exports/csv")?.holdings.map((h) => h.holderId)).toEqual(["a", "c", "d"]);
    expect(() => store.acquire("exports/csv", req("e"))).toThrow(/semaphore/);
  });

  it("drops a waiter at its deadline and on cancel; try-lock answers busy", async () => {
    const { store, clock } = setup();
    acquired(store.acquire("l", req("a")));
    expect(store.acquire("l", { ...req("t"), waitMs: 0 })).toEqual({ status: "busy" });
    const b = queued(store.acquire("l", { ...req("b"), waitMs: 500 }));
    const c = queued(store.acquire("l", req("c")));
    clock.advance(500);
    store.sweep();
    expect(await soon(b.granted)).toBeNull();
    expect(store.lock("l")?.waiters.map((w) => w.waiterId)).toEqual(["c"]);
    expect(store.cancel("l", "c")).toBe(true);
    expect(await soon(c.granted)).toBeNull();
    expect(store.cancel("l", "c")).toBe(false);
  });

  it("refuses a second holding or wait by the same holder id", () => {
    const { store } = setup();
    acquired(store.acquire("l", req("a")));
    expect(() => store.acquire("l", req("a"))).toThrow(/no reentrancy/);
  });

  it("emits the names of changed locks once per operation", () => {
    const { store, events } = setup();
    acquired(store.acquire("a", req("x")));
    store.acquire("b", req("y"));
    store.renew("a", "x");
    store.locks(); // a read with nothing due changes nothing
    expect(events).toEqual([["a"], ["b"], ["a"]]);
  });

  it("announces expiries from its own timer while nobody reads", () => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
    const store = new MemoryLockStore({ sweepIntervalMs: 50 }); // default clock: Date.now
    const events: string[][] = [];
    store.subscribe((keys) => events.push(keys));
    store.start();
    store.acquire("jobs/compaction", req("a", 200));
    events.length = 0;

    vi.advanceTimersByTime(199);
    expect(events).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(events).toEqual([["jobs/compaction"]]);

    store.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("isolates a throwing listener", () => {
    const { store, events } = setup();
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    store.subscribe(() => {
      throw new Error("boom");
    });
    acquired(store.acquire("l", req("a")));
    expect(events).toEqual([["l"]]);
    expect(spy).toHaveBeenCalledOnce();
    spy.mockRestore();
  });
});
