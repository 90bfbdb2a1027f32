import { describe, expect, it } from "vitest";
import { ChangeFeed } from "./change-feed";

describe("ChangeFeed", () => {
  it("merges keys added before the reader asks, and a resync drops them", async () => {
    const feed = new ChangeFeed();
    const ac = new AbortController();
    const it = feed.drain(ac.signal);
    feed.add(["a", "b", "a"]);
    expect(await it.next()).toEqual({ done: false, value: { keys: ["a", "b"] } });
    feed.add(["c"]);
    feed.needResync();
    expect(await it.next()).toEqual({ done: false, value: { keys: [], resync: true } });
    const next = it.next();
    ac.abort();
    expect(await next).toEqual({ done: true, value: undefined });
  });

  it("coalesces a burst into one batch and ends with the failure", async () => {
    const feed = new ChangeFeed(20);
    const it = feed.drain(new AbortController().signal);
    const first = it.next();
    for (let i = 0; i < 50; i++) feed.add([`k${i}`]);
    expect(((await first).value as { keys: string[] }).keys).toHaveLength(50);
    feed.fail(new Error("refused"));
    await expect(it.next()).rejects.toThrow("refused");
  });
});
