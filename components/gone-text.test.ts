import { describe, expect, it } from "vitest";
import { goneWords } from "./gone-text";

const at = new Date(2024, 4, 1, 14, 3, 55).getTime();

describe("goneWords", () => {
  it("names who force-released it, when and why", () => {
    const w = goneWords({
      last: { at, kind: "force-released", holder: "tok-1" },
      release: { at: new Date(at - 200).toISOString(), actor: "alice", reason: "stuck after deploy", outcome: "applied" },
    });
    expect(w).toEqual({ last: "Force-released by alice at 2024-05-01 14:03:55, reason: stuck after deploy (holder tok-1).", release: null });
  });
  it("says an expiry, a release and a loss in an outage apart", () => {
    expect(goneWords({ last: { at, kind: "expired", holdMs: 30_000 }, release: null })!.last).toBe(
      "Expired (its TTL ran out) at 2024-05-01 14:03:55, after 30s held.",
    );
    expect(goneWords({ last: { at, kind: "expired", cause: "holder-gone", holdMs: 30_000 }, release: null })!.last).toBe(
      "Expired (its client was seen gone, then its session ended) at 2024-05-01 14:03:55, after 30s held.",
    );
    expect(goneWords({ last: { at, kind: "released", owner: "worker-7" }, release: null })!.last).toBe(
      "Released by its holder at 2024-05-01 14:03:55 (holder worker-7).",
    );
    expect(goneWords({ last: { at, kind: "lost", cause: "session-gone" }, release: null })!.last).toMatch(
      /^Lost during an outage, .*its session or lease ended\), not necessarily released\.$/,
    );
  });
  it("adds the last force-release attempt when it is not the last event", () => {
    const w = goneWords({
      last: { at, kind: "expired" },
      release: { at: new Date(at - 60_000).toISOString(), actor: "bob", reason: "test", outcome: "precondition_failed" },
    });
    expect(w!.release).toBe("Last force-release attempt: bob at 2024-05-01 14:02:55, reason: test — precondition failed.");
  });
  it("knows nothing: null", () => {
    expect(goneWords({ last: null, release: null })).toBeNull();
    expect(goneWords(undefined)).toBeNull();
  });
});
