// Event ids and replay: ids carry the bus's epoch, and only an id this bus issued is replayed;
// anything else (a restart, another replica, ahead of the counter, garbage) asks for a resync.

import { describe, expect, it } from "vitest";
import { EventBus } from "./bus";

const remove = (key: string) => ({ type: "remove" as const, connection: "c", data: { connection: "c", key } });

function busWith(n: number, epoch?: string): EventBus {
  const bus = new EventBus(epoch);
  for (let i = 1; i <= n; i++) bus.publish(remove(`k${i}`));
  return bus;
}

describe("EventBus ids", () => {
  it("each bus has its own random epoch, and wire ids are <epoch>-<seq>", () => {
    const a = busWith(3);
    const b = busWith(3);
    expect(a.epoch).toMatch(/^[0-9a-f]{12}$/);
    expect(a.epoch).not.toBe(b.epoch);
    expect(a.wireId(a.lastId)).toBe(`${a.epoch}-3`);
  });

  it("since(): a sequence number ahead of the counter is not 'nothing missed' but a resync (null)", () => {
    const bus = busWith(5);
    expect(bus.since(999_999_999)).toBeNull();
    expect(bus.since(6)).toBeNull();
    expect(bus.since(5)).toEqual([]);
    expect(bus.since(3)!.map((e) => e.id)).toEqual([4, 5]);
  });

  it("sinceWireId(): replays an id of this epoch; any other gets null (resync)", () => {
    const bus = busWith(5, "00c0ffee");
    expect(bus.sinceWireId("00c0ffee-3")!.map((e) => e.id)).toEqual([4, 5]);
    expect(bus.sinceWireId("00c0ffee-5")).toEqual([]);
    expect(bus.sinceWireId("00c0ffee-0")!.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
    for (const id of [
      "999999999", // a bare number: before the epoch, or from a server that never had one
      "3", // even one that would look right
      "00c0ffee-6", // ahead of this counter
      "00c0ffee-999999999",
      "deadbeef-3", // another process: a restart, another replica
      "00C0FFEE-3",
      "00c0ffee-03",
      "00c0ffee--3",
      "00c0ffee-3.5",
      "00c0ffee-1e3",
      "00c0ffee-99999999999999999999",
      "",
      "garbage",
    ]) {
      expect(bus.sinceWireId(id), id).toBeNull();
    }
  });

  it("an id the ring no longer reaches gets null, as before", () => {
    const bus = busWith(5_010);
    expect(bus.since(5)).toBeNull();
    expect(bus.sinceWireId(bus.wireId(5))).toBeNull();
    expect(bus.sinceWireId(bus.wireId(5_000))!.map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => 5_001 + i));
  });
});
