// The sentence under an alert's summary, from the wait-for graph: the cycle of a deadlock, in
// words, and why a holder is judged dead. Pure (reads the graph and the record it is given).

import type { LockRecord } from "../model";
import type { WaitGraph } from "../waits/graph";
import { sharedSessionCaveat } from "../waits/caveat";
import { deadReason } from "../waits/api";
import type { RuleId } from "./rules";

function ownerWords(g: WaitGraph, owner: string): string {
  const p = g.party(owner);
  return p?.owner ? `${p.owner} (${owner})` : owner;
}

export function alertDetail(rule: RuleId, key: string, g: WaitGraph, rec: LockRecord | undefined): string | undefined {
  if (rule === "deadlock") {
    const c = g.cycles().find((x) => x.locks.includes(key));
    if (!c) return undefined;
    const cycle = c.owners
      .map((o, i) => `${ownerWords(g, o)} waits for ${g.lock(c.locks[i])?.name ?? c.locks[i]}, held by ${ownerWords(g, c.owners[(i + 1) % c.owners.length])}`)
      .join("; ");
    const caveat = sharedSessionCaveat(c.owners);
    return caveat ? `${cycle} (${caveat})` : cycle;
  }
  if (rule === "holder-dead" && rec) {
    const reasons = rec.holders
      .map((h) => (h.ownerKey ? deadReason(g, h.ownerKey) : h.liveness?.state === "dead" ? h.liveness.reason : undefined))
      .filter(Boolean);
    if (reasons.length) return `holder ${rec.holders.map((h) => h.owner ?? h.id).join(", ")}: ${reasons.join("; ")}`;
    return `warnings: ${rec.warnings.join(", ")}`;
  }
  if (rule === "waiter-too-long" && rec) {
    const oldest = rec.waiters.filter((w) => w.since).sort((a, b) => Date.parse(a.since!) - Date.parse(b.since!))[0];
    return oldest ? `oldest waiter ${oldest.owner ?? oldest.id}, queued since ${oldest.since}` : undefined;
  }
  if (rule === "held-too-long" && rec) {
    const h = rec.holders[0];
    return h?.since ? `held by ${h.owner ?? h.id} since ${h.since}` : undefined;
  }
  return undefined;
}
