// Holder liveness on Consul: a lock's holder is a session on a node. Consul invalidates the
// session — and so ends its locks — when a check it is BOUND to goes critical: its NodeChecks
// (before Consul 1.7: Checks; by default only the node's serfHealth) and its ServiceChecks. No
// other check ends it: a critical check of some other service on the same node says nothing
// about the holder. So the holder is judged dead ("holder-node-failing") only from a critical
// check the session names; any other failing check on its node is a note (named, with its
// status) and the holder stays alive. Checks in "warning" judge nothing. Pure: the adapter reads
// the non-passing checks (/v1/health/state/critical and /warning) and hands them here.

import type { Liveness, LockRecord } from "../../model";
import { applyHolderLiveness } from "../liveness";
import type { ConsulSession } from "./entry";
import { NODE_FAILING, type NodeJudge } from "./record";

/** One entry of /v1/health/state/<state>. */
export interface ConsulCheck {
  Node: string;
  CheckID: string;
  Name?: string;
  Status: string;
  ServiceID?: string;
}

/** The non-passing checks of the datacenter, or why they could not be read. */
export type NodeHealth = { checks: ConsulCheck[]; filtered: boolean } | { unknown: string };

/**
 * The check ids a session is bound to: NodeChecks (Checks before 1.7) and ServiceChecks. A
 * session that names neither field is judged as Consul creates one by default: serfHealth.
 * null/[]: bound to none (a TTL-only session).
 */
export function boundChecks(s: Pick<ConsulSession, "NodeChecks" | "ServiceChecks" | "Checks"> | undefined): string[] {
  if (!s) return ["serfHealth"];
  const node = s.NodeChecks !== undefined ? (s.NodeChecks ?? []) : s.Checks !== undefined ? (s.Checks ?? []) : ["serfHealth"];
  return [...node, ...(s.ServiceChecks ?? []).map((c) => c.ID)];
}

/** `bound`: the check ids the session is bound to (boundChecks). */
export function sessionLiveness(node: string | undefined, h: NodeHealth, bound: readonly string[] = ["serfHealth"]): Liveness {
  if (!node) return { state: "unknown", reason: "the session names no node" };
  if ("unknown" in h) return { state: "unknown", node, reason: h.unknown };
  const mine = h.checks.filter((c) => c.Node === node);
  const failing = mine.map((c) => ({ id: c.CheckID, status: c.Status, ...(c.Name && { name: c.Name }) }));
  const hidden = h.filtered ? " (some checks are hidden from LockDeck's token by ACLs)" : "";
  const isBound = (c: { id: string }) => bound.includes(c.id);
  const named = (c: { id: string; name?: string }) => (c.name && c.name !== c.id ? `${c.name} (${c.id})` : c.id);
  const boundText = bound.length ? bound.join(", ") : "no check";
  const critical = failing.filter((c) => c.status === "critical" && isBound(c));
  if (critical.length) {
    return {
      state: "dead",
      node,
      failingChecks: failing,
      reason: `its session is bound to ${critical.map(named).join(", ")} on node ${node}, which ${critical.length === 1 ? "is" : "are"} critical: Consul invalidates the session and ends its locks${hidden}`,
    };
  }
  if (failing.length) {
    const list = failing.map((c) => `${named(c)} ${c.status}${isBound(c) ? " (bound to the session)" : ""}`).join(", ");
    const others = failing.some((c) => !isBound(c)) ? `; the session is bound to ${boundText} only, so Consul keeps its locks through the others` : "";
    return { state: "alive", node, failingChecks: failing, reason: `node ${node}: ${list}${others}${hidden}` };
  }
  return { state: "alive", node, reason: `node ${node}: no failing checks${hidden}` };
}

/**
 * Sets each session holder's liveness and the holder-node-failing warning (on copies: a
 * record's holders may be shared, lib/formats/liveness.ts). Each session's binding is judged
 * once per node; holders with the same binding share the answer.
 */
export function applyNodeHealth(locks: LockRecord[], judge: NodeJudge): void {
  // A holder whose session is gone already has its warning (holder-session-dead): nothing to add.
  applyHolderLiveness(locks, NODE_FAILING, (holder, l) =>
    !holder.session || l.warnings.includes("holder-session-dead") ? undefined : judge(holder.session.id, holder.session.node),
  );
}

/**
 * sessionLiveness under one health read, for the sessions of `sessions` (a session not in it is
 * judged by Consul's default binding, serfHealth); each node and binding judged once.
 */
export function nodeJudge(h: NodeHealth, sessions: ReadonlyMap<string, ConsulSession>): NodeJudge {
  const memo = new Map<string, Liveness>();
  return (sessionId, node) => {
    const bound = boundChecks(sessions.get(sessionId));
    const key = `${node ?? ""}\u0000${bound.join("\u0000")}`;
    let liveness = memo.get(key);
    if (!liveness) memo.set(key, (liveness = sessionLiveness(node, h, bound)));
    return liveness;
  };
}

/** The nodes of some records' session holders. */
export function holderNodes(locks: Iterable<LockRecord>): Set<string> {
  const out = new Set<string>();
  for (const l of locks) for (const h of l.holders) if (h.session?.node) out.add(h.session.node);
  return out;
}
