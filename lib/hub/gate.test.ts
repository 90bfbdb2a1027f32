import { describe, expect, it } from "vitest";
import { ReadGate } from "./gate";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("read gate", () => {
  it("caps reads in flight, answers every caller by the deadline, and keeps a slot until the read really ends", async () => {
    const gate = new ReadGate(2, 200);
    let started = 0;
    const slowRead = () => {
      started++;
      return sleep(600).then(() => "late");
    };
    const t0 = Date.now();
    const answers = await Promise.allSettled(Array.from({ length: 10 }, () => gate.run(slowRead)));
    const took = Date.now() - t0;
    expect(started).toBe(2);
    expect(answers.every((a) => a.status === "rejected" && /ReadTimeout/.test((a.reason as Error).name))).toBe(true);
    expect(took).toBeLessThan(500);
    expect(gate.stats()).toEqual({ inFlight: 2, peak: 2 });
    await sleep(500);
    expect(gate.stats().inFlight).toBe(0);
    expect(await gate.run(async () => "fast")).toBe("fast");
  });

  it("a waiting read gets the slot a finished one frees", async () => {
    const gate = new ReadGate(1, 1_000);
    const first = gate.run(() => sleep(50).then(() => 1));
    const second = gate.run(async () => 2);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(gate.stats().peak).toBe(1);
  });
});
