// The liveness judgement from cons facts, with plain values. The real-server cases (a killed
// holder, a frozen one, an ensemble, a whitelist without cons) are in lib/stores/zookeeper/.
import { describe, expect, it } from "vitest";
import { livenessOf, type SessionFacts } from "./liveness";

type Connected = SessionFacts["connected"];

const SID = "0x100000a";
const T0 = Date.parse("2026-12-07T12:00:00Z");

function facts(o: { silentMs?: number; timeoutMs?: number; connected?: boolean; absentMs?: number }): SessionFacts {
  const connected: Connected = new Map();
  if (o.connected !== false) {
    connected.set(SID, {
      server: "zk1:2181",
      client: "10.0.0.7:53122",
      sid: SID,
      lresp: 123,
      timeoutMs: o.timeoutMs,
      lastActivity: o.silentMs === undefined ? undefined : T0 - o.silentMs,
    });
  }
  return {
    readAt: T0,
    refused: [],
    connected,
    absentSince: new Map(o.absentMs === undefined ? [] : [[SID, T0 - o.absentMs]]),
    graceMs: 5_000,
  };
}

describe("livenessOf", () => {
  it("a connected client answered within 2/3 of its session timeout is alive", () => {
    for (const silentMs of [0, 3_000, 6_666]) {
      expect(livenessOf(SID, facts({ silentMs, timeoutMs: 10_000 })), String(silentMs)).toMatchObject({ state: "alive" });
    }
    // Silence not known yet (the first read of this answer), or no timeout in the line: alive.
    expect(livenessOf(SID, facts({ timeoutMs: 10_000 })).state).toBe("alive");
    expect(livenessOf(SID, facts({ silentMs: 60_000 })).state).toBe("alive");
  });

  it("connected but answered nothing for 2/3 of its session timeout: dead (frozen or cut off), saying so", () => {
    const l = livenessOf(SID, facts({ silentMs: 6_667, timeoutMs: 10_000 }));
    expect(l).toMatchObject({ state: "dead", clientAddress: "10.0.0.7:53122", lastActivity: new Date(T0 - 6_667).toISOString() });
    expect(l.reason).toBe(
      "connected to zk1:2181 from 10.0.0.7:53122, but answered nothing for 7 s of its 10 s session timeout (a live client pings every third of it): the client is frozen or cut off, and its nodes stay until the session times out",
    );
    expect(livenessOf(SID, facts({ silentMs: 40_000, timeoutMs: 60_000 })).state).toBe("dead");
    expect(livenessOf(SID, facts({ silentMs: 39_000, timeoutMs: 60_000 })).state).toBe("alive");
  });

  it("absent from every server: unknown within the grace period, dead after it", () => {
    expect(livenessOf(SID, facts({ connected: false, absentMs: 1_000 })).state).toBe("unknown");
    expect(livenessOf(SID, facts({ connected: false, absentMs: 5_000 }))).toMatchObject({
      state: "dead",
      reason: expect.stringContaining("no ZooKeeper server has had a connection"),
    });
  });
});
