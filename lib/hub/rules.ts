// Stale-lock rules an operator configures per connection (lockdeck.config.json staleRules):
// held longer than N, or a waiter queued longer than N. They add warnings to a record as of a
// given moment; the hub re-applies them on a timer, since time alone makes them fire. Pure.

import type { LockRecord } from "../model";

export interface StaleRules {
  heldLongerThanMs?: number;
  waiterOlderThanMs?: number;
}

const RULE_WARNINGS = new Set(["held-too-long", "waiter-too-long"]);

function olderThan(since: string | undefined, limitMs: number | undefined, now: number): boolean {
  return !!since && !!limitMs && now - Date.parse(since) > limitMs;
}

/**
 * The record with the rule warnings as of `now`; the same object when nothing changes. An
 * election is exempt: its leader holds and its candidates stand by for as long as the service
 * runs (Curator LeaderLatch, etcd Campaign), so both rules would flag every healthy election.
 */
export function applyRules(r: LockRecord, rules: StaleRules, now: number): LockRecord {
  if (!hasRules(rules) && !r.warnings.some((w) => RULE_WARNINGS.has(w))) return r;
  const fired: string[] = [];
  const election = r.kind === "election";
  if (!election && r.holders.some((h) => olderThan(h.since, rules.heldLongerThanMs, now))) fired.push("held-too-long");
  if (!election && r.waiters.some((w) => olderThan(w.since, rules.waiterOlderThanMs, now))) fired.push("waiter-too-long");
  const kept = r.warnings.filter((w) => !RULE_WARNINGS.has(w));
  const next = [...kept, ...fired];
  if (next.length === r.warnings.length && next.every((w, i) => w === r.warnings[i])) return r;
  return { ...r, warnings: next };
}

export function hasRules(rules: StaleRules): boolean {
  return !!rules.heldLongerThanMs || !!rules.waiterOlderThanMs;
}
