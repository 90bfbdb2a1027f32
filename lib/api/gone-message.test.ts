import { describe, expect, it } from "vitest";
import { goneWords } from "@/components/gone-text";
import { goneMessage } from "./detail";

const at = Date.UTC(2026, 0, 2, 3, 4, 5);

describe("the 404's message for a gone lock", () => {
  it("says how an expiry came, in the lock page's words", () => {
    for (const [cause, words] of [
      ["holder-gone", "its client was seen gone, then its session ended"],
      ["session-ended", "its session ended (Consul invalidated it"],
      [undefined, "its TTL ran out"],
    ] as const) {
      const gone = { last: { at, kind: "expired", holder: "h1", ...(cause && { cause }) }, release: null };
      expect(goneMessage(gone)).toContain(`(holder h1): ${words}`);
      expect(goneWords(gone)?.last).toContain(`Expired (${words}`);
    }
  });

  it("names a lost holding's cause in words, not as a code", () => {
    const gone = { last: { at, kind: "lost", cause: "console-down" }, release: null };
    expect(goneMessage(gone)).toBe("lost at 2026-01-02T03:04:05.000Z while LockDeck could not see the store (LockDeck itself was down)");
    expect(goneWords(gone)?.last).toContain("(LockDeck itself was down)");
  });

  it("says nothing of a cause for a holder's own release", () => {
    expect(goneMessage({ last: { at, kind: "released", holder: "h1" }, release: null })).toBe("released at 2026-01-02T03:04:05.000Z (holder h1)");
  });
});
