// The scrypt queue: one client address holds at most its share of the places (running or
// waiting), so a burst from it is answered "busy" while other addresses still get checked.

import { describe, expect, it } from "vitest";
import { hashPassword, verifyPassword } from "./password";

const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: { status?: number; code?: string }) => (e.code === "busy" ? 503 : 500),
  );

describe("the scrypt queue", () => {
  it("a burst from one address takes only its share; another address is still checked, not refused busy", async () => {
    const h = await hashPassword("pw");
    const burst = Array.from({ length: 12 }, () => status(verifyPassword("guess", h, "203.0.113.9")));
    const other = verifyPassword("pw", h, "198.51.100.1");
    const statuses = await Promise.all(burst);
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.filter((s) => s === 503)).toHaveLength(8);
    expect(await other).toEqual({ ok: true, rehash: false });
    // Places are given back: the address gets its share again.
    expect(await Promise.all(Array.from({ length: 4 }, () => status(verifyPassword("guess", h, "203.0.113.9"))))).toEqual([200, 200, 200, 200]);
  });

  it("an IPv6 client's share is its /64: rotating the interface id buys no more places", async () => {
    const h = await hashPassword("pw");
    const burst = Array.from({ length: 8 }, (_, i) => status(verifyPassword("guess", h, `2001:db8:1:2::${(i + 1).toString(16)}`)));
    const statuses = await Promise.all(burst);
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
  });
});
