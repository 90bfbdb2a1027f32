// What a Consul decode shares between records: the locks one session holds alone share one
// frozen holders array (with the session's details and liveness), and the hub gives each record
// its start on a copy, never in that array (lib/hub/since.ts); empty lists are shared too.

import { describe, expect, it } from "vitest";
import { decodeConsul } from "./index";
import { applyNodeHealth, nodeJudge, type NodeHealth } from "./liveness";
import { loadConsulFixture } from "../../../test/support/fixtures/consul";
import { LOCK_FLAGS, type ConsulEntry, type ConsulSession } from "./entry";
import { StartTimes } from "../../hub/since";

const session: ConsulSession = { ID: "s1", Name: "Consul API Lock", Node: "n1", TTL: "15s", NodeChecks: ["serfHealth"] };
const entry = (Key: string, ModifyIndex: number): ConsulEntry => ({
  Key,
  Flags: LOCK_FLAGS,
  Value: null,
  Session: "s1",
  LockIndex: 1,
  CreateIndex: 1,
  ModifyIndex,
});
const ctx = { connection: "c1", consistency: "default", now: Date.parse("2026-01-01T00:10:00.000Z") };

describe("records of one session", () => {
  it("share one frozen holders array; the hub gives each its own start on a copy", () => {
    const { locks } = decodeConsul([entry("a", 5), entry("b", 6), entry("c", 7)], [session], ctx);
    const [a, b, c] = locks;
    const shared = a.holders;
    expect(b.holders).toBe(shared);
    expect(Object.isFrozen(shared)).toBe(true);
    // b was seen held by s1 before, since 00:05; a and c are new in this read.
    const starts = new StartTimes(45_000);
    const oldB = { ...b, holders: [{ ...b.holders[0], since: "2026-01-01T00:05:00.000Z", sinceSource: "first-seen" as const, sinceObserved: true }] };
    starts.fill(undefined, a);
    starts.fill(oldB, b);
    starts.fill(undefined, c);
    expect(a.holders[0]).toMatchObject({ id: "s1", since: "2026-01-01T00:10:00.000Z", sinceSource: "first-seen", sinceObserved: true });
    expect(b.holders[0]).toMatchObject({ id: "s1", since: "2026-01-01T00:05:00.000Z", sinceSource: "first-seen", sinceObserved: true });
    // The decode's array is untouched; a and c, first seen in one read, share one copy.
    expect(shared[0].since).toBeUndefined();
    expect(c.holders).toBe(a.holders);
    expect(b.holders).not.toBe(a.holders);
    for (const l of locks) expect(Object.isFrozen(l.holders)).toBe(true);
  });

  it("node health goes on copies shared the same way, never into the shared holder", () => {
    const { locks } = decodeConsul([entry("a", 5), entry("b", 6)], [session], ctx);
    const shared = locks[0].holders;
    const sessions = new Map([[session.ID, session]]);
    applyNodeHealth(
      locks,
      nodeJudge({ checks: [{ Node: "n1", CheckID: "serfHealth", Name: "Serf Health Status", Status: "critical" }], filtered: false }, sessions),
    );
    expect(shared[0].liveness).toBeUndefined();
    expect(locks[1].holders).not.toBe(shared);
    expect(locks[1].holders[0]).toBe(locks[0].holders[0]);
    for (const l of locks) {
      expect(Object.isFrozen(l.holders)).toBe(true);
      expect(l.holders[0].liveness).toMatchObject({ state: "dead", node: "n1" });
      expect(l.warnings).toEqual(["holder-node-failing"]);
    }
    applyNodeHealth(locks, nodeJudge({ checks: [], filtered: false }, sessions));
    for (const l of locks) {
      expect(l.holders[0].liveness?.state).toBe("alive");
      expect(l.warnings).toEqual([]);
    }
  });
});

describe("node health judged in the decode", () => {
  const FIXTURES = ["api-lock-pair", "api-lock", "api-semaphore-dead-holder", "api-semaphore", "cli-lock", "cli-semaphore", "generic-session", "malformed"].map(
    (f) => `${f}.json`,
  );
  // The fixtures' sessions plus the cases the judge must leave alone or tell apart: a holder
  // whose session is gone, one on a node with no name, one on a healthy node.
  const extraSessions: ConsulSession[] = [
    { ID: "s-nonode", Name: "x", TTL: "15s" },
    { ID: "s-ok", Name: "y", Node: "healthy", TTL: "15s" },
  ];
  const extra = [
    { ...entry("z/gone", 7), Session: "s-missing" },
    { ...entry("z/nonode", 8), Session: "s-nonode" },
    { ...entry("z/ok", 9), Session: "s-ok" },
  ];

  it("sets on every record what applyNodeHealth sets after a plain decode", () => {
    const judgedDead = new Set<string>();
    for (const name of FIXTURES) {
      const f = loadConsulFixture(name);
      const entries = [...f.entries, ...extra];
      const sessions = [...f.sessions, ...extraSessions];
      const nodes = [...new Set(sessions.map((s) => s.Node).filter((n): n is string => !!n))].filter((n) => n !== "healthy");
      const healths: NodeHealth[] = [
        { checks: nodes.map((n) => ({ Node: n, CheckID: "serfHealth", Name: "Serf Health Status", Status: "critical" })), filtered: false },
        { checks: nodes.map((n) => ({ Node: n, CheckID: "app", Name: "app", Status: "critical" })), filtered: false },
        { checks: nodes.map((n) => ({ Node: n, CheckID: "app", Status: "warning" })), filtered: true },
        { checks: [], filtered: false },
        { unknown: "health checks not read: 403" },
      ];
      for (const h of healths) {
        const plain = decodeConsul(structuredClone(entries), sessions, ctx);
        applyNodeHealth(plain.locks, nodeJudge(h, new Map(sessions.map((x) => [x.ID, x]))));
        const judged = decodeConsul(structuredClone(entries), sessions, ctx, h);
        expect(judged, `${name}, ${JSON.stringify(h).slice(0, 80)}`).toEqual(plain);
      }
      for (const l of decodeConsul(structuredClone(entries), sessions, ctx, healths[0]).locks)
        if (l.warnings.includes("holder-node-failing")) judgedDead.add(l.format);
    }
    // Records were judged dead (locks and semaphores): the comparison is not of empty judgements.
    expect([...judgedDead].sort()).toEqual(["consul.lock", "consul.semaphore", "consul.session"]);
  });
});

describe("holders found by session id", () => {
  // The decode finds each key's session through a number made of the id's first and last
  // characters (record.ts); ids that share those, or that are short, must still find their own.
  const ids = [
    ...Array.from({ length: 12 }, (_, i) => `aaaaaa-${String(i).padStart(2, "0")}-zzzzzz`), // one number for all: past the crowding limit
    ...Array.from({ length: 3 }, (_, i) => `bbbbbb-${i}-yyyyyy`),
    "s",
    "",
    "0f4e0c2a-1b2c-3d4e-5f60-718293a4b5c6",
  ];
  const sessions = ids.map((ID): ConsulSession => ({ ID, Name: `name of ${ID}`, Node: "n1", TTL: "15s" }));

  it.each([
    ["in order", ids],
    ["reversed", [...ids].reverse()],
    ["with a session that is gone", [...ids, "aaaaaa-99-zzzzzz"]],
  ])("gives every key its own session's details, %s", (_, order) => {
    const entries = order.map((id, i): ConsulEntry => ({ ...entry(`k/${i}`, i + 1), Session: id || undefined, LockIndex: 1 }));
    const { locks } = decodeConsul(entries, sessions, { connection: "c1", consistency: "default", now: 0 });
    expect(locks.map((l) => [l.key, l.holders[0]?.id, l.holders[0]?.owner])).toEqual(
      order.map((id, i) => [`k/${i}`, id || undefined, id && ids.includes(id) ? `name of ${id}` : undefined]),
    );
  });

  it("finds a session again after others crowded its number: its keys share its details", () => {
    const order = [...ids, ...ids].filter(Boolean);
    const entries = order.map((id, i): ConsulEntry => ({ ...entry(`k/${i}`, i + 1), Session: id }));
    const { locks } = decodeConsul(entries, sessions, { connection: "c1", consistency: "default", now: 0 });
    const half = order.length / 2;
    for (let i = 0; i < half; i++) expect(locks[i + half].holders[0].session).toBe(locks[i].holders[0].session);
  });
});
