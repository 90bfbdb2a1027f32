// Holder liveness on Consul: a lock's holder is a session on a node. Consul invalidates the
// session when a check it is BOUND to goes critical (by default only the node's serfHealth),
// but not for any other check — so a holder whose own service check is critical keeps its lock.
// That is what "the holder's node is failing" means here: some check on the session's node is
// critical while the session lives; the holder is judged dead ("holder-node-failing"). Checks
// in "warning" are named but judge nothing. Pure: the adapter reads the non-passing checks
// (/v1/health/state/critical and /warning) and hands them here.

import type { Liveness, LockRecord } from "../../model";
import { applyHolderLiveness } from "../liveness";
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

export function sessionLiveness(node: string | undefined, h: NodeHealth): Liveness {
  if (!node) return { state: "unknown", reason: "the session names no node" };
  if ("unknown" in h) return { state: "unknown", node, reason: h.unknown };
  const mine = h.checks.filter((c) => c.Node === node);
  const failing = mine.map((c) => ({ id: c.CheckID, status: c.Status, ...(c.Name && { name: c.Name }) }));
  const hidden = h.filtered ? " (some checks are hidden from LockDeck's token by ACLs)" : "";
  const critical = failing.filter((c) => c.status === "critical");
  if (critical.length) {
    return {
      state: "dead",
      node,
      failingChecks: failing,
      reason: `its node ${node} is failing: ${critical.map((c) => `${c.name ?? c.id} critical`).join(", ")} (the session is not bound to ${critical.length === 1 ? "that check" : "those checks"}, so Consul keeps its locks)${hidden}`,
    };
  }
  if (failing.length)
    return { state: "alive", node, failingChecks: failing, reason: `node ${node}: ${failing.map((c) => `${c.name ?? c.id} ${c.status}`).join(", ")}${hidden}` };
  return { state: "alive", node, reason: `node ${node}: no failing checks${hidden}` };
}

/**
 * Sets each session holder's liveness and the holder-node-failing warning (on copies: a
 * record's holders may be shared, lib/formats/liveness.ts). Each node is judged once; its
 * holders share the answer.
 */
export function applyNodeHealth(locks: LockRecord[], h: NodeHealth, judge: NodeJudge = nodeJudge(h)): void {
  // A holder whose session is gone already has its warning (holder-session-dead): nothing to add.
  applyHolderLiveness(locks, NODE_FAILING, (holder, l) =>
    !holder.session || l.warnings.includes("holder-session-dead") ? undefined : judge(holder.session.node),
  );
}

/** sessionLiveness under one health read, each node judged once (its holders share the answer). */
export function nodeJudge(h: NodeHealth): NodeJudge {
  const byNode = new Map<string, Liveness>();
  return (node) => {
    let liveness = byNode.get(node ?? "");
    if (!liveness) byNode.set(node ?? "", (liveness = sessionLiveness(node, h)));
    return liveness;
  };
}

/** The nodes of some records' session holders. */
export function holderNodes(locks: Iterable<LockRecord>): Set<string> {
  const out = new Set<string>();
  for (const l of locks) for (const h of l.holders) if (h.session?.node) out.add(h.session.node);
  return out;
}
