// Readiness (GET /api/ready), for a load balancer or Kubernetes: may this replica take traffic?
//   - the config loaded (a bad one stops start-up anyway, with the field named);
//   - every connection has its first snapshot, or a reason it has none (the store is down: the
//     page says so, which is the truth to show — a store outage must not take every replica
//     out of the load balancer);
//   - the shared PostgreSQL, when one is configured, has been reached and its schema is up to
//     date. Once it has, a later outage is reported (`postgres.ok: false`) but the replica stays
//     ready: the live view works without PostgreSQL, and an unready verdict on every replica at
//     once would take the whole console away during a database incident. Admin actions are
//     refused meanwhile, with that message.
// Liveness is GET /api/health (the process answers), never this.

import type { Registry } from "../registry";

export interface Readiness {
  ready: boolean;
  /** Why not, one line each (empty when ready). */
  reasons: string[];
  /** role/reader: with PostgreSQL, whether this replica reads the store or follows the one that does. */
  connections: Array<{ id: string; state: "snapshot" | "failed" | "waiting"; message: string | null; role: string; reader: string | null }>;
  postgres: { configured: boolean; ok: boolean; everReached: boolean; message: string | null };
}

export async function readiness(reg: Registry): Promise<Readiness> {
  const reasons: string[] = [];
  const connections = [...reg.connections.values()].map(({ config: { id }, hub, replicated }) => {
    const s = hub.statusEvent();
    // A first snapshot gives observedAt; a failed first read gives a reason (the store's error).
    const state: "snapshot" | "failed" | "waiting" =
      s.observedAt !== null ? "snapshot" : s.status === "unreachable" && s.message !== "connecting" ? "failed" : "waiting";
    if (state === "waiting") reasons.push(`connection ${id}: no first snapshot yet`);
    const part = replicated?.describe() ?? { role: "solo", reader: null };
    return { id, state, message: state === "snapshot" ? null : s.message, ...part };
  });
  const postgres = { configured: reg.shared !== null, ok: true, everReached: false, message: null as string | null };
  if (reg.shared) {
    Object.assign(postgres, await reg.shared.check());
    if (!postgres.everReached) reasons.push(`postgres: not reached since start-up: ${postgres.message}`);
  }
  return { ready: reasons.length === 0, reasons, connections, postgres };
}
