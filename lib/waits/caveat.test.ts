import { describe, expect, it } from "vitest";
import { sharedSessionCaveat } from "./caveat";

describe("sharedSessionCaveat", () => {
  it("a cycle through a session or lease says threads of one cannot be told apart; one of client threads says nothing", () => {
    expect(sharedSessionCaveat(["session:0x1", "session:0x2"])).toMatch(/^a deadlock if no session \(or lease\) on it is shared by several threads/);
    expect(sharedSessionCaveat(["lease:694d", "lease:694e"])).not.toBeNull();
    expect(sharedSessionCaveat(["redisson:c1:1", "redisson:c2:7"])).toBeNull();
    expect(sharedSessionCaveat(["owner:alice", "owner:bob"])).toBeNull();
  });
});
