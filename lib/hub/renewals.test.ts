import { expect, it } from "vitest";
import { Renewals } from "./renewals";

it("starts at 'all', then hands out the keys renewed since the last take; past its bound it says 'all' again", () => {
  const r = new Renewals();
  r.add("x");
  expect(r.take()).toBe("all");
  expect(r.take()).toEqual(new Set());
  r.add("a");
  r.add("b");
  r.add("a");
  expect(r.take()).toEqual(new Set(["a", "b"]));
  for (let i = 0; i <= 10_000; i++) r.add(`k${i}`);
  expect(r.take(), "more than 10 000 unread: the reader must look at every record").toBe("all");
  r.add("c");
  r.markAll();
  expect(r.take()).toBe("all");
});
