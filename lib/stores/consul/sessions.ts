// The sessions page's data: every session Consul lists, what it is bound to, and the keys it
// holds under the watched prefixes. Pure: the adapter passes what it read.
//
// TTL: Consul reports the session's CONFIGURED TTL only (and may reap it up to 2×TTL later);
// there is no "time left" to show, so none is computed here or in the UI.

import type { ConsulEntry, ConsulSession } from "../../formats/consul/entry";
import { DOT_LOCK, SEMAPHORE_FLAGS, dirOf, nodeChecks, serviceChecks } from "../../formats/consul/entry";

export interface SessionRow {
  id: string;
  name: string;
  node: string;
  behavior: string;
  /** As configured ("15s"), or null for none. */
  ttl: string | null;
  lockDelayMs: number;
  checks: Array<{ id: string; kind: "node" | "service"; status: string | null }>;
  createIndex: number;
  /** Keys it holds under the watched prefixes, with the lock each belongs to. */
  keys: Array<{ key: string; lock: string }>;
  /** Nothing ends it on its own: no TTL and no health check. */
  unbounded: boolean;
}

export interface SessionsView {
  observedAt: string;
  consistency: string;
  prefixes: string[];
  sessions: SessionRow[];
  ttlNote: string;
}

export const TTL_NOTE =
  "Consul reports each session's configured TTL, not the time left: a session is invalidated some time after TTL without a renewal (up to 2×TTL), and the timer restarts on a leader change.";

export function sessionsView(input: {
  sessions: ConsulSession[];
  checkStatus(node: string, check: string): string | null;
  entries: ReadonlyMap<string, ConsulEntry>;
  observedAt: string;
  consistency: string;
  prefixes: string[];
}): SessionsView {
  const held = new Map<string, Array<{ key: string; lock: string }>>();
  for (const e of input.entries.values()) {
    if (!e.Session) continue;
    const semDir = e.Flags === SEMAPHORE_FLAGS && input.entries.get(dirOf(e.Key) + DOT_LOCK)?.Flags === SEMAPHORE_FLAGS;
    const list = held.get(e.Session) ?? [];
    list.push({ key: e.Key, lock: semDir ? dirOf(e.Key) + DOT_LOCK : e.Key });
    held.set(e.Session, list);
  }
  const rows = input.sessions.map((s): SessionRow => {
    const node = s.Node ?? "";
    const checks = [
      ...nodeChecks(s).map((id) => ({ id, kind: "node" as const, status: input.checkStatus(node, id) })),
      ...serviceChecks(s).map((id) => ({ id, kind: "service" as const, status: input.checkStatus(node, id) })),
    ];
    return {
      id: s.ID,
      name: s.Name ?? "",
      node,
      behavior: s.Behavior || "release",
      ttl: s.TTL || null,
      lockDelayMs: Math.round((s.LockDelay ?? 0) / 1e6),
      checks,
      createIndex: s.CreateIndex ?? 0,
      keys: (held.get(s.ID) ?? []).sort((a, b) => (a.key < b.key ? -1 : 1)),
      unbounded: !s.TTL && checks.length === 0,
    };
  });
  rows.sort((a, b) => b.keys.length - a.keys.length || a.createIndex - b.createIndex);
  return { observedAt: input.observedAt, consistency: input.consistency, prefixes: input.prefixes, sessions: rows, ttlNote: TTL_NOTE };
}
