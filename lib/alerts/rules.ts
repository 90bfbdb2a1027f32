// Which alert rules a lock record breaks, from the warnings the decoders, the hub's stale rules
// (lib/hub/rules.ts) and the wait-for graph (lib/waits) put on it. Pure.

import type { LockRecord } from "../model";
import type { AlertsConfig } from "./config";

export type RuleId = "deadlock" | "holder-dead" | "held-too-long" | "waiter-too-long";

export interface Rule {
  /** The Alertmanager alertname (and what the JSON payload calls it). */
  alertname: string;
  severity: "critical" | "warning";
  /** The record warnings that make it fire. */
  warnings: string[];
  /** One line for people: what is wrong with which lock. */
  summary(lockName: string, connection: string): string;
}

export const RULES: Record<RuleId, Rule> = {
  deadlock: {
    alertname: "LockDeadlock",
    severity: "critical",
    warnings: ["deadlock"],
    summary: (l, c) => `Deadlock on ${l} (${c}): its holder waits, down a cycle, for one of its own waiters`,
  },
  "holder-dead": {
    alertname: "LockHolderDead",
    severity: "critical",
    warnings: ["not-renewed", "lease-expired", "holder-session-dead", "holder-node-failing", "holder-disconnected"],
    summary: (l, c) => `The holder of ${l} (${c}) is judged dead, and the lock is still held`,
  },
  "held-too-long": {
    alertname: "LockHeldTooLong",
    severity: "warning",
    warnings: ["held-too-long"],
    summary: (l, c) => `${l} (${c}) is held longer than its stale rule allows`,
  },
  "waiter-too-long": {
    alertname: "LockWaiterQueuedTooLong",
    severity: "warning",
    warnings: ["waiter-too-long"],
    summary: (l, c) => `A waiter on ${l} (${c}) has queued longer than its stale rule allows`,
  },
};

export function enabledRules(cfg: AlertsConfig["rules"]): Set<RuleId> {
  const on = new Set<RuleId>();
  if (cfg.deadlock) on.add("deadlock");
  if (cfg.holderDead) on.add("holder-dead");
  if (cfg.heldTooLong) on.add("held-too-long");
  if (cfg.waiterTooLong) on.add("waiter-too-long");
  return on;
}

/** What rulesOf answers for a record that breaks none (most of them): one frozen list, read only. */
const NO_RULES = Object.freeze([]) as readonly RuleId[] as RuleId[];

/** The enabled rules this record breaks (none for a free or unknown lock: nothing is held). */
export function rulesOf(r: LockRecord, enabled: ReadonlySet<RuleId>): RuleId[] {
  if (r.state !== "held" || r.warnings.length === 0) return NO_RULES;
  const out: RuleId[] = [];
  for (const id of enabled) if (RULES[id].warnings.some((w) => r.warnings.includes(w))) out.push(id);
  return out;
}
