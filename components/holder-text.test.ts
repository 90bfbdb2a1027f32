import { describe, expect, it } from "vitest";
import { startLabel, whoText } from "./holder-text";

describe("whoText", () => {
  it("Curator holders on one host differ by session; the node name is the short id", () => {
    const a = whoText({
      id: "_c_4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13-lock-0000000000",
      owner: "127.0.0.1",
      ownerNote: "client address or id",
      session: { id: "0x100c4a1e6f90002" },
    });
    const b = whoText({
      id: "_c_9a1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13-lock-0000000001",
      owner: "127.0.0.1",
      ownerNote: "client address or id",
      session: { id: "0x100c4a1e6f90003" },
    });
    expect(a.who).toBe("127.0.0.1 · session 0x10…90002");
    expect(a.who).not.toBe(b.who);
    expect(a.id).toBe("_c_4f1e…-lock-0000000000");
    expect(a.title).toContain("127.0.0.1 (client address or id)");
    expect(a.title).toContain("id _c_4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13-lock-0000000000");
  });
  it("Redisson: client and thread first, uuid shortened", () => {
    const t = whoText({ id: "7f3a9c1e-0b2d-4c55-9a8e-1d2c3b4a5f60:42", owner: "Redisson client 7f3a9c1e-0b2d-4c55-9a8e-1d2c3b4a5f60 thread 42" });
    expect(t).toMatchObject({ who: "Redisson client 7f3a9c1e… thread 42", id: "7f3a…:42" });
  });
  it("Consul: the session's name and node", () => {
    const t = whoText({
      id: "4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13",
      owner: "Consul lock for e2e/x",
      session: { id: "4f1e2a8c-9d3b-4c7e-8a51-2f6d0b9e7c13", name: "Consul lock for e2e/x", node: "node-1" },
    });
    expect(t).toMatchObject({ who: "Consul lock for e2e/x · on node-1", id: "4f1e…e7c13" });
  });
  it("without an owner the id is what there is, shortened, never to one character", () => {
    expect(whoText({ id: "694d8f1b2c3a4e5f" })).toMatchObject({ who: "694d…a4e5f", id: null });
    expect(whoText({ id: "a" })).toMatchObject({ who: "a", id: null });
  });
});

describe("startLabel", () => {
  it("labels a first sighting as a lower bound, a takeover and a store time in words", () => {
    expect(startLabel({ sinceSource: "first-seen" })).toMatchObject({ prefix: "≥", word: "first seen" });
    expect(startLabel({ sinceObserved: true })).toMatchObject({ prefix: "≥" });
    expect(startLabel({ sinceSource: "became-holder", sinceObserved: true })).toMatchObject({ prefix: "", word: "took over" });
    expect(startLabel({})).toMatchObject({ prefix: "", word: "since" });
  });
});
