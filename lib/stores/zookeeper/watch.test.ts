import { describe, expect, it } from "vitest";
import { WatchSet } from "./watch";

/** The first batch the feed yields. */
async function firstBatch(w: WatchSet) {
  const ctl = new AbortController();
  const feed = w.feed(ctl.signal);
  const { value } = await feed.next();
  ctl.abort();
  await feed.return(undefined);
  return value;
}

describe("WatchSet", () => {
  it("arms a data watch once per node, until it fires or its read fails", async () => {
    const w = new WatchSet((path, kind) => `${kind} ${path}`);
    const fire = w.data("/locks/a", "lock-0000000001");
    expect(fire).toBeTypeOf("function");
    expect(w.data("/locks/a", "lock-0000000001")).toBeUndefined();
    // Another node of the same dir, and the same name in another dir, are other watches.
    expect(w.data("/locks/a", "lock-0000000002")).toBeTypeOf("function");
    expect(w.data("/locks/b", "lock-0000000001")).toBeTypeOf("function");
    expect(w.data("/", "lock-0000000001")).toBeTypeOf("function");
    expect(w.armedCount).toBe(4);

    fire!({ type: 3, path: "/locks/a/lock-0000000001" }); // NodeDataChanged
    expect(await firstBatch(w)).toEqual({ keys: ["data /locks/a/lock-0000000001"] });
    expect(w.armedCount).toBe(3);
    expect(w.data("/locks/a", "lock-0000000001")).toBeTypeOf("function");

    w.forget("data", "/locks/b/lock-0000000001");
    w.forget("data", "/lock-0000000001");
    // Forgetting what is not armed changes nothing.
    w.forget("data", "/locks/c/lock-0000000001");
    expect(w.armedCount).toBe(2);
    expect(w.data("/locks/b", "lock-0000000001")).toBeTypeOf("function");
    expect(w.data("/", "lock-0000000001")).toBeTypeOf("function");
    expect(w.armedCount).toBe(4);
  });

  it("forgets every watch when the session is lost, and asks for a re-list", async () => {
    const w = new WatchSet((path) => path);
    w.child("/locks");
    w.data("/locks/a", "lock-0000000001");
    w.sessionLost();
    expect(w.armedCount).toBe(0);
    expect(await firstBatch(w)).toEqual({ keys: [], resync: true });
    expect(w.child("/locks")).toBeTypeOf("function");
    expect(w.data("/locks/a", "lock-0000000001")).toBeTypeOf("function");
  });
});
