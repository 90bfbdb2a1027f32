// The waits answers (types.ts) from a connection's graph: bounded, whatever the lock count.

import type { Hub } from "../hub/hub";
import type { LockRecord } from "../model";
import type { WaitGraph } from "./graph";
import type { HolderWaits, LockWaitsAnswer, WaitsAnswer, WaitsOwner } from "./types";

/** Lock warnings that mean the holder's client is gone, in words. */
const DEAD_WARNINGS: Record<string, string> = {
  "not-renewed": "its lease is not renewed",
  "lease-expired": "its lease expired",
  "holder-session-dead": "its session is gone",
  "holder-node-failing": "its node is failing",
  "holder-disconnected": "no server has its connection",
};

/** At most this many of an owner's held locks are looked at for a dead-holder warning. */
const DEAD_SCAN = 100;
const ALSO_HOLDS = 20;

/** Why an owner is judged dead, or undefined: its liveness first, else a held lock's warning. */
export function deadReason(g: WaitGraph, owner: string): string | undefined {
  const live = g.party(owner)?.liveness;
  if (live?.state === "dead") return live.reason;
  let n = 0;
  for (const l of g.holdsOf(owner)) {
    if (n++ >= DEAD_SCAN) break;
    const lock = g.lock(l);
    const w = lock?.warnings.find((x) => DEAD_WARNINGS[x]);
    if (w && lock!.holders.length === 1) return `${DEAD_WARNINGS[w]} (on ${lock!.name})`;
  }
  return undefined;
}

function ownersOf(g: WaitGraph, keys: Iterable<string>): Record<string, WaitsOwner> {
  const dead = g.deadlockedOwners();
  const out: Record<string, WaitsOwner> = {};
  for (const key of keys) {
    if (out[key]) continue;
    const party = g.party(key);
    if (!party) continue;
    out[key] = { key, party, holds: g.holdsOf(key).size, waitsFor: [...g.waitsOf(key)], dead: deadReason(g, key), deadlocked: dead.has(key) };
  }
  return out;
}

function namesOf(g: WaitGraph, keys: Iterable<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) out[k] ??= g.lock(k)?.name ?? k;
  return out;
}

export function waitsAnswer(connection: string, g: WaitGraph, hub: Hub, limit: number): WaitsAnswer {
  const { edges, total } = g.edges(limit);
  const cycles = g.cycles();
  const status = hub.statusEvent();
  const ownerKeys = [...edges.flatMap((e) => [e.waiter, e.holder]), ...cycles.flatMap((c) => c.owners)];
  const lockKeys = [...edges.map((e) => e.lock), ...cycles.flatMap((c) => c.locks)];
  const names = namesOf(g, lockKeys);
  return {
    connection,
    now: new Date().toISOString(),
    edges: edges.map((e) => ({ ...e, lockName: names[e.lock], deadlock: g.isDeadlocked(e.lock) })),
    edgesTotal: total,
    cycles,
    owners: ownersOf(g, ownerKeys),
    lockNames: names,
    unidentified: g.unidentifiedCount(),
    stale: status.stale,
    staleAgeMs: status.staleAgeMs,
  };
}

export function lockWaitsAnswer(connection: string, g: WaitGraph, key: string, record: LockRecord | undefined): LockWaitsAnswer {
  const lock = g.lock(key);
  const holders: HolderWaits[] = [];
  const ownerKeys = new Set<string>();
  const lockKeys = new Set<string>([key]);
  for (const owner of lock?.holders ?? []) {
    ownerKeys.add(owner);
    const party = g.party(owner)!;
    const waitsFor = [...g.waitsOf(owner)].map((l) => {
      const m = g.lock(l)!;
      const me = m.waiters.find((w) => w.owner === owner);
      lockKeys.add(l);
      for (const h of m.holders) ownerKeys.add(h);
      return {
        lock: l,
        name: m.name,
        since: me?.since,
        position: me?.position ?? 0,
        holders: m.holders.map((h) => ({ key: h, party: g.party(h) })),
        deadlock: g.isDeadlocked(l),
      };
    });
    const held = [...g.holdsOf(owner)].filter((l) => l !== key);
    const alsoHolds = held
      .sort()
      .slice(0, ALSO_HOLDS)
      .map((l) => ({ lock: l, name: g.lock(l)?.name ?? l }));
    holders.push({ owner, party, dead: deadReason(g, owner), waitsFor, alsoHolds, alsoHoldsTotal: held.length });
  }
  const cycles = g.cycles().filter((c) => c.locks.includes(key));
  for (const c of cycles) {
    c.owners.forEach((o) => ownerKeys.add(o));
    c.locks.forEach((l) => lockKeys.add(l));
  }
  return {
    connection,
    now: new Date().toISOString(),
    key,
    holders,
    unidentifiedHolders: record?.holders.filter((h) => !h.ownerKey).length ?? 0,
    cycles,
    owners: ownersOf(g, ownerKeys),
    lockNames: namesOf(g, lockKeys),
  };
}

/** The graph's figures for /api/metrics (lib/alerts/metrics.ts). */
export function waitFigures(
  connection: string,
  g: WaitGraph,
): { connection: string; waits: number; deadlocks: number; deadlockedLocks: number; deadHolders: number } {
  const { edges, total } = g.edges(20_000);
  const blockers = new Set(edges.map((e) => e.holder));
  let deadHolders = 0;
  for (const o of blockers) if (deadReason(g, o)) deadHolders++;
  return { connection, waits: total, deadlocks: g.cycles().length, deadlockedLocks: g.deadlockedLocks().length, deadHolders };
}
