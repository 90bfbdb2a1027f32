import { describe, expect, it } from "vitest";
import { decodeFence, encodeFence, fenceOf, withFence } from "../../fence";
import type { LockRecord, LockView, StoreChange } from "../../model";
import { lockStatus } from "../../status";
import { MemoryAdapter } from "./adapter";
import { MemoryLockStore } from "./store";
import { fakeClock, soon, T0 } from "../../../test/support/clock";

const signal = () => new AbortController().signal;
const iso = (ms: number) => new Date(ms).toISOString();

function setup() {
  const clock = fakeClock();
  const store = new MemoryLockStore({ now: clock.now });
  const adapter = new MemoryAdapter("demo", store);
  const snapshot = async () => (await adapter.snapshot(signal())).locks;
  const find = async (key: string) => (await snapshot()).find((l) => l.key === key);
  return { clock, store, adapter, snapshot, find };
}

describe("MemoryAdapter", () => {
  it("maps a held, contended mutex to a LockRecord", async () => {
    const { store, clock, adapter, find } = setup();
    store.acquire("orders:payout", { owner: "payout-worker-1 pid 4121", holderId: "h1", ttlMs: 30_000 });
    clock.advance(1_000);
    store.acquire("orders:payout", { owner: "payout-worker-2 pid 77", holderId: "w1", ttlMs: 30_000, waitMs: 60_000 });
    clock.advance(1_000);
    store.acquire("orders:payout", { owner: "payout-worker-3 pid 78", holderId: "w2", ttlMs: 30_000 });
    clock.advance(3_000);

    const lock = await find("orders:payout");
    expect(lock).toEqual({
      connection: "demo",
      key: "orders:payout",
      name: "orders:payout",
      format: "memory.mutex",
      kind: "mutex",
      state: "held",
      holders: [
        {
          id: "h1",
          owner: "payout-worker-1 pid 4121",
          ownerKey: "owner:payout-worker-1 pid 4121",
          since: iso(T0),
          sinceObserved: false,
          sinceSource: "store",
          lease: { id: "h1", ttlMs: 25_000, grantedTtlMs: 30_000 },
        },
      ],
      waiters: [
        {
          id: "w1",
          position: 1,
          since: iso(T0 + 1_000),
          sinceSource: "store",
          deadline: iso(T0 + 61_000),
          owner: "payout-worker-2 pid 77",
          ownerKey: "owner:payout-worker-2 pid 77",
        },
        { id: "w2", position: 2, since: iso(T0 + 2_000), sinceSource: "store", owner: "payout-worker-3 pid 78", ownerKey: "owner:payout-worker-3 pid 78" },
      ],
      ttlMs: 25_000,
      ttlSource: "lease",
      fencingToken: "1",
      holding: { holder: "h1", token: 1 },
      observedAt: iso(T0 + 5_000),
      consistency: "linearizable (in-process)",
      warnings: [],
    } satisfies LockRecord);
    expect(lockStatus(lock!)).toBe("contended");
    expect((await adapter.snapshot(signal())).observedAt).toBe(iso(T0 + 5_000));
  });

  it("round-trips the fence to the exact holding", async () => {
    const { store, find } = setup();
    store.acquire("l", { owner: "o", holderId: "h1", ttlMs: 1_000 });
    store.release("l", "h1");
    store.acquire("l", { owner: "o", holderId: "h2", ttlMs: 1_000 });
    const fence = decodeFence(fenceOf((await find("l"))!));
    expect(fence).toEqual({ v: 2, c: "demo", k: "l", f: "memory.mutex", h: { holder: "h2", token: 2 } });
  });

  it("warns no-expiry and not-renewed, which read as stale", async () => {
    const { store, clock, find } = setup();
    store.acquire("report:nightly", { owner: "report-cron-1 pid 9", ttlMs: null });
    store.acquire("jobs/compaction", { owner: "compactor-1 pid 10", holderId: "c", ttlMs: 30_000 });

    const stale = (await find("report:nightly"))!;
    expect(stale).toMatchObject({ ttlMs: null, ttlSource: "none", warnings: ["no-expiry"] });
    expect(stale.holders[0].lease).toBeUndefined();
    expect(lockStatus(stale)).toBe("stale");

    clock.advance(15_000); // exactly half: not yet
    expect((await find("jobs/compaction"))!.warnings).toEqual([]);
    clock.advance(1);
    const dying = (await find("jobs/compaction"))!;
    expect(dying.warnings).toEqual(["not-renewed"]);
    expect(lockStatus(dying)).toBe("stale");

    store.renew("jobs/compaction", "c");
    expect((await find("jobs/compaction"))!.warnings).toEqual([]);
  });

  it("lists no free lock, reports semaphores with permits free", async () => {
    const { store, snapshot } = setup();
    store.acquire("gone", { owner: "o", holderId: "g", ttlMs: 1_000 });
    store.release("gone", "g");
    store.acquire("exports/csv", { owner: "a", ttlMs: 5_000, kind: "semaphore", permits: 4 });
    store.acquire("exports/csv", { owner: "b", ttlMs: 9_000, kind: "semaphore", permits: 4 });
    const locks = await snapshot();
    expect(locks.map((l) => l.key)).toEqual(["exports/csv"]);
    expect(locks[0]).toMatchObject({ format: "memory.semaphore", kind: "semaphore", permitsFree: 2, ttlMs: 5_000 });
    expect(locks[0].holders).toHaveLength(2);
  });

  it("rereads keys into records and gone; ttls come from the store", async () => {
    const { store, clock, adapter } = setup();
    store.acquire("a", { owner: "o", ttlMs: 10_000 });
    store.acquire("b", { owner: "o", ttlMs: null });
    clock.advance(4_000);
    const { locks, gone, problems } = await adapter.reread(["a", "b", "c", "a"], signal());
    expect(locks.map((l) => l.key)).toEqual(["a", "b"]);
    expect(gone).toEqual(["c"]);
    expect(problems).toEqual([]);
    expect(await adapter.ttls(["a", "b", "c"], signal())).toEqual(
      new Map<string, number | null>([
        ["a", 6_000],
        ["b", null],
      ]),
    );
  });

  it("force-releases the observed holding and wakes the head waiter", async () => {
    const { store, adapter, find } = setup();
    store.acquire("l", { owner: "dead", holderId: "h1", ttlMs: null });
    store.acquire("l", { owner: "next", holderId: "w1", ttlMs: 5_000 });
    const seen = (await find("l"))!;
    expect(adapter.describeRelease(withFence(seen), "delete")).toMatchObject({
      modes: ["delete"],
      command: "lockdeck-memory release l if holder=h1 token=1",
      holderNotified: false,
    });
    expect(adapter.describeRelease(withFence(seen), "delete").wakes).toContain("w1");

    expect(await adapter.forceRelease(withFence(seen), "delete", signal())).toMatchObject({ status: "released" });
    const now = (await find("l"))!;
    expect(now.holders.map((h) => h.id)).toEqual(["w1"]);
    expect(now.fencingToken).toBe("2");
  });

  it("answers changed with the current record when the holding moved on", async () => {
    const { store, adapter, find } = setup();
    store.acquire("l", { owner: "o", holderId: "h1", ttlMs: 5_000 });
    const seen = (await find("l"))!;
    store.release("l", "h1");
    store.acquire("l", { owner: "o", holderId: "h1", ttlMs: 5_000 }); // same holder id, new token
    const outcome = await adapter.forceRelease(withFence(seen), "delete", signal());
    expect(outcome.status).toBe("changed");
    expect(outcome.status === "changed" && outcome.current?.fencingToken).toBe("2");
    expect((await find("l"))!.holders[0].id).toBe("h1");
  });

  it("answers gone when nobody holds the lock any more", async () => {
    const { store, clock, adapter, find } = setup();
    store.acquire("l", { owner: "o", ttlMs: 1_000 });
    const seen = (await find("l"))!;
    clock.advance(1_000);
    expect(await adapter.forceRelease(withFence(seen), "delete", signal())).toEqual({ status: "gone" });
  });

  it("refuses other modes, foreign and malformed fences", async () => {
    const { store, adapter, find } = setup();
    store.acquire("l", { owner: "o", ttlMs: 1_000 });
    const seen = withFence((await find("l"))!);
    const refused = async (lock: LockView, mode: "delete" | "revoke-lease" = "delete") => (await adapter.forceRelease(lock, mode, signal())).status;
    expect(await refused(seen, "revoke-lease")).toBe("refused");
    expect(await refused({ ...seen, fence: encodeFence("other", "l", "memory.mutex", { holder: "x", token: 1 }) })).toBe("refused");
    expect(await refused({ ...seen, key: "m" })).toBe("refused");
    expect(await refused({ ...seen, fence: "not-a-fence" })).toBe("refused");
    expect((await find("l"))!.holders).toHaveLength(1);
  });

  it("watch yields changed lock names and ends on abort, unsubscribed", async () => {
    const { store, adapter } = setup();
    const controller = new AbortController();
    const changes = adapter.watch!(controller.signal)[Symbol.asyncIterator]();
    expect(store.listenerCount()).toBe(1);

    store.acquire("a", { owner: "o", holderId: "x", ttlMs: 1_000 }); // before the first next(): kept
    expect(await soon(changes.next())).toEqual({ done: false, value: { keys: ["a"] } });

    store.acquire("b", { owner: "o", ttlMs: 1_000 });
    store.release("a", "x");
    expect(((await soon(changes.next())).value as StoreChange).keys.sort()).toEqual(["a", "b"]);

    const pending = changes.next(); // waiting for a change when the abort comes
    controller.abort();
    expect(await soon(pending)).toEqual({ done: true, value: undefined });
    expect(store.listenerCount()).toBe(0);
  });

  it("watch ends when the adapter closes; close leaves the store alone", async () => {
    const { store, adapter } = setup();
    const changes = adapter.watch!(signal())[Symbol.asyncIterator]();
    const pending = changes.next();
    await adapter.close();
    expect((await soon(pending)).done).toBe(true);
    expect(store.listenerCount()).toBe(0);
    store.acquire("still-works", { owner: "o", ttlMs: 1_000 });
    expect(store.locks()).toHaveLength(1);
  });

  it("reports health and refuses an aborted snapshot", async () => {
    const { store, adapter } = setup();
    store.acquire("a", { owner: "o", ttlMs: 1_000 });
    expect(await adapter.health(signal())).toMatchObject({ status: "ok", message: "in-process store, 1 lock in use" });
    expect(adapter.updateMode()).toEqual({ mode: "live" });
    const controller = new AbortController();
    controller.abort();
    await expect(adapter.snapshot(controller.signal)).rejects.toThrow();
  });
});
