import { expect, it } from "vitest";
import { Fifo } from "./queue";

it("gives items back in the order they came, and drains 200k of them in linear time", () => {
  const q = new Fifo<number>();
  expect(q.take()).toBeUndefined();
  const started = performance.now();
  for (let i = 0; i < 200_000; i++) q.push(i);
  let next = 0;
  // Interleaved like a walk: every item taken may queue more.
  for (let v = q.take(); v !== undefined; v = q.take()) {
    if (v !== next++) throw new Error(`took ${v}, expected ${next - 1}`);
    if (v % 4 === 0 && v < 200_000) q.push(200_000 + v / 4);
  }
  const ms = performance.now() - started;
  expect(next).toBe(250_000);
  expect(q.size).toBe(0);
  // Array.shift made this quadratic (several seconds at 100k); by index it is well under one.
  expect(ms, `${ms.toFixed(0)} ms`).toBeLessThan(3_000);
});
