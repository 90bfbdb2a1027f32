import { describe, expect, it } from "vitest";
import type { AuditEntry } from "./api";
import { attemptsOf } from "./audit-attempts";

let n = 0;
function entry(p: Partial<AuditEntry>): AuditEntry {
  n++;
  return {
    id: `e${n}`,
    at: new Date(Date.UTC(2024, 0, 1, 12, 0, n)).toISOString(),
    prev: "",
    hash: "",
    requestId: "r1",
    phase: "intent",
    actor: "alice",
    role: "operator",
    connection: "redis",
    key: "lock:a",
    format: "redis.token",
    fence: "f",
    reason: "stuck",
    mode: "delete",
    action: "release",
    ...p,
  };
}

describe("attemptsOf", () => {
  it("folds intent and outcome into one attempt that ended as the outcome says", () => {
    const intent = entry({ detail: "conditional on the fence" });
    const outcome = entry({ phase: "outcome", outcome: "applied", detail: "deleted lock:a" });
    const [a, ...rest] = attemptsOf([outcome, intent]);
    expect(rest).toEqual([]);
    expect(a).toMatchObject({ id: "r1", outcome: "applied", first: intent });
    expect(a.steps).toHaveLength(2);
    expect(a.steps[1]).toMatch(/ applied: deleted lock:a$/);
  });
  it("an intent without an outcome is unknown, not applied", () => {
    expect(attemptsOf([entry({ requestId: "r2" })])[0].outcome).toBeNull();
  });
  it("a two-person release: asked, approved by someone else, then sent and applied", () => {
    const es = [
      entry({ requestId: "r3", outcome: "pending_approval", detail: "approval p1 needed within 10 min" }),
      entry({ requestId: "r3", action: "approve", phase: "outcome", outcome: "applied", actor: "bob" }),
      entry({ requestId: "r3", approvedBy: "bob" }),
      entry({ requestId: "r3", phase: "outcome", outcome: "applied", approvedBy: "bob" }),
    ].reverse();
    const [a] = attemptsOf(es);
    expect(a).toMatchObject({ outcome: "applied", approvedBy: "bob" });
    expect(a.first.actor).toBe("alice");
    expect(a.steps.map((s) => s.replace(/^\S+ /, ""))).toEqual(["asked: approval p1 needed within 10 min", "approved by bob", "sent", "applied"]);
    expect(attemptsOf(es.slice(3))[0].outcome).toBe("pending_approval");
  });
  it("a refusal before anything was sent is one attempt with that outcome; lone entries stay single; newest first", () => {
    const refused = entry({ requestId: "r4", phase: "outcome", outcome: "rate_limited" });
    const login = entry({ requestId: "", action: "login", phase: "outcome", outcome: "applied", key: "", connection: "" });
    const list = attemptsOf([login, refused]);
    expect(list.map((a) => a.outcome)).toEqual(["applied", "rate_limited"]);
    expect(list[0].id).toBe(login.id);
  });
});
