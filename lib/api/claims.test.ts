// ReleaseClaims alone (pure): one attempt per exact holding at a time, an applied release
// standing against confirmations from views read before it but not against one from a view of
// the holding taken again since, and the answer of a confirmation kept for its repeats.

import { describe, expect, it } from "vitest";
import { APPLIED_KEEP_MS, ReleaseClaims } from "./claims";

const H = ReleaseClaims.idOf("r", "lock:a", { t: "string", d: "digest-of-host:pid" });
const t0 = 1_000_000;

describe("release claims", () => {
  it("concurrent confirmations of one holding: the first takes it, the others are told who has it", () => {
    const c = new ReleaseClaims();
    expect(c.take(H, "req-1", "ana", t0, t0 - 500)).toBeNull();
    expect(c.take(H, "req-2", "bo", t0 + 1, t0 - 500)).toMatchObject({ requestId: "req-1", actor: "ana", state: "running" });
    // A view read later does not end a running claim.
    expect(c.take(H, "req-3", "bo", t0 + 2, t0 + 2)).toMatchObject({ requestId: "req-1", state: "running" });
    // Refused, changed or gone: the next confirmation goes ahead.
    c.finish("req-1", "changed", t0 + 10);
    expect(c.take(H, "req-4", "bo", t0 + 11, t0 - 500)).toBeNull();
  });

  it("applied: a confirmation from a view read before the release is a duplicate; one read after the hub's read that followed it is new", () => {
    const c = new ReleaseClaims();
    expect(c.take(H, "req-1", "ana", t0, t0 - 500)).toBeNull();
    // The store answered at t0+20, the hub read the lock back at t0+25.
    c.finish("req-1", "released", t0 + 30, t0 + 25);
    // readAfter is never before the attempt ended.
    const applied = c.take(H, "req-2", "bo", t0 + 40, t0 - 500);
    expect(applied).toMatchObject({ requestId: "req-1", state: "applied", at: t0 + 30, readAfter: t0 + 30 });
    expect(ReleaseClaims.refusal(applied!, t0 - 500)).toEqual({ claim: applied, until: t0 + 30 + APPLIED_KEEP_MS, seenBefore: true });
    // The same token taken again and seen at t0+30 (not after the read): still refused.
    expect(c.take(H, "req-3", "bo", t0 + 50, t0 + 30)).toMatchObject({ requestId: "req-1" });
    // No seenAt (an API client): refused while the claim stands, and told until when.
    const blind = c.take(H, "req-4", "bo", t0 + 60);
    expect(ReleaseClaims.refusal(blind!)).toMatchObject({ until: t0 + 30 + APPLIED_KEEP_MS, seenBefore: false });
    // A view read after it: a holding taken again since, seen by the operator. It takes the claim.
    expect(c.take(H, "req-5", "bo", t0 + 70, t0 + 31)).toBeNull();
    expect(c.take(H, "req-6", "ana", t0 + 71, t0 + 71)).toMatchObject({ requestId: "req-5", actor: "bo", state: "running" });
  });

  it("applied with no read after it: no view can tell the holding taken again from the released one, until the claim ends", () => {
    const c = new ReleaseClaims();
    c.take(H, "req-1", "ana", t0, t0 - 500);
    c.finish("req-1", "released", t0 + 30, null);
    expect(c.take(H, "req-2", "bo", t0 + 60_000, t0 + 59_000)).toMatchObject({ requestId: "req-1", readAfter: null });
    expect(c.take(H, "req-3", "bo", t0 + 30 + APPLIED_KEEP_MS + 1, t0 - 500)).toBeNull();
  });

  it("unknown: every confirmation is refused until the reconciler settles it", () => {
    const c = new ReleaseClaims();
    c.take(H, "req-1", "ana", t0, t0 - 500);
    c.finish("req-1", "unknown", t0 + 30, t0 + 40);
    expect(c.take(H, "req-2", "bo", t0 + 2 * APPLIED_KEEP_MS, t0 + 2 * APPLIED_KEEP_MS)).toMatchObject({ state: "unknown" });
    c.settled("req-1", "not_applied", t0 + 2 * APPLIED_KEEP_MS);
    expect(c.take(H, "req-3", "bo", t0 + 2 * APPLIED_KEEP_MS + 1)).toBeNull();
  });

  it("a repeat of a confirmation gets its answer; another operator or target with the same id does not", async () => {
    const c = new ReleaseClaims();
    const answer = Promise.resolve({ outcome: "released" });
    c.answering("req-1", "ana", "target-a", answer, t0);
    expect(c.repeatOf("req-1", "ana", "target-a", t0 + 1)).toBe(answer);
    expect(await c.repeatOf("req-1", "ana", "target-a", t0 + 1)).toEqual({ outcome: "released" });
    expect(c.repeatOf("req-1", "bo", "target-a", t0 + 1)).toBeNull();
    expect(c.repeatOf("req-1", "ana", "target-b", t0 + 1)).toBeNull();
    expect(c.repeatOf("req-2", "ana", "target-a", t0 + 1)).toBeNull();
    expect(c.repeatOf("req-1", "ana", "target-a", t0 + APPLIED_KEEP_MS + 1)).toBeNull();
    // A refusal is kept too, and raises no unhandled rejection while nobody repeats it.
    const refused = Promise.reject(new Error("unreachable"));
    c.answering("req-3", "ana", "target-a", refused, t0);
    await expect(c.repeatOf("req-3", "ana", "target-a", t0 + 1)).rejects.toThrow("unreachable");
  });
});
