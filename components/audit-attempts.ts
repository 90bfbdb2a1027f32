// The audit page shows one row per attempt: the entries of one request (its intent, an
// approval, the outcome — linked by requestId) folded into what was asked, what happened in
// between and how it ended. Pure.

import type { AuditEntry } from "./api";
import { formatClock } from "./format";

export interface Attempt {
  /** requestId (or the entry id of a lone entry). */
  id: string;
  /** Entries of the attempt, oldest first. */
  entries: AuditEntry[];
  /** The first entry: who asked, for what. */
  first: AuditEntry;
  /**
   * How it ended: the outcome word of the last outcome entry; "pending_approval" while a
   * second operator has not answered; null when an intent has no outcome (the call never
   * finished, or its answer was lost: the outcome is unknown).
   */
  outcome: string | null;
  /** Who approved it (two-person rule). */
  approvedBy?: string;
  /** Each step in words: "14:03:55 asked, waiting for approval", "14:04:10 approved by bob", "14:04:10 applied: …". */
  steps: string[];
}

const STEP: Record<string, string> = {
  applied: "applied",
  precondition_failed: "refused: the lock had changed",
  gone: "nothing to do: already released",
  refused: "refused",
  unknown: "outcome unknown",
  not_applied: "not applied",
  denied: "denied",
  rate_limited: "refused: too many releases",
  pending_approval: "waiting for a second operator",
  expired: "approval window passed",
};

function step(e: AuditEntry): string {
  const at = formatClock(e.at);
  const detail = e.detail ? `: ${e.detail}` : "";
  if (e.action === "approve")
    return `${at} ${e.outcome === "applied" ? `approved by ${e.actor}` : `approval by ${e.actor} ${STEP[e.outcome ?? ""] ?? e.outcome}`}`;
  if (e.phase === "intent") return e.outcome === "pending_approval" ? `${at} asked${detail}` : `${at} sent${detail}`;
  return `${at} ${STEP[e.outcome ?? ""] ?? e.outcome ?? "outcome"}${detail}`;
}

/** Folds entries (newest first, as GET /api/audit answers) into attempts, newest first. */
export function attemptsOf(entries: AuditEntry[]): Attempt[] {
  const groups = new Map<string, AuditEntry[]>();
  for (const e of [...entries].reverse()) {
    const id = e.requestId || e.id;
    const g = groups.get(id);
    if (g) g.push(e);
    else groups.set(id, [e]);
  }
  const out: Attempt[] = [];
  for (const [id, es] of groups) {
    const first = es.find((e) => (e.action ?? "release") !== "approve") ?? es[0];
    const last = es.at(-1)!;
    const releaseOutcome = [...es].reverse().find((e) => e.phase === "outcome" && (e.action ?? "release") === "release");
    const sent = es.some((e) => e.phase === "intent" && e.outcome !== "pending_approval");
    let outcome: string | null;
    if (releaseOutcome) outcome = releaseOutcome.outcome ?? null;
    else if (sent) outcome = null;
    else if (last.phase === "outcome") outcome = last.outcome ?? null;
    else outcome = last.outcome === "pending_approval" ? "pending_approval" : null;
    const approvedBy = es.find((e) => e.approvedBy)?.approvedBy ?? es.find((e) => e.action === "approve" && e.outcome === "applied")?.actor;
    out.push({ id, entries: es, first, outcome, ...(approvedBy && { approvedBy }), steps: es.map(step) });
  }
  return out.sort((a, b) => Date.parse(b.first.at) - Date.parse(a.first.at));
}
