// The lock detail answer: the record re-read from the store, what a release would do, and
// the other locks that share its lease or session (its blast radius).

import type { Connection, Registry } from "../registry";
import type { LockRecord } from "../model";
import { HttpError } from "./errors";
import { storeModule } from "../stores";
import { withFence } from "../fence";
import { causeText, expiryCause } from "../history/causes";
import { withFreshTtls } from "../hub/fresh";
import type { GoneLock, LockDetail } from "./types";

/** How far back the history of a lock that is gone is searched. */
const GONE_LOOKBACK_MS = 86_400_000;

/** Only the connection's hub is read (the adapter contract suite calls it with a bare hub). */
export async function lockDetail(conn: Pick<Connection, "hub">, key: string): Promise<LockDetail | null> {
  const { hub } = conn;
  // Reads by key obey the connection's scope: nothing outside it reaches the store.
  const problem = hub.adapter.keyProblem(key);
  if (problem) throw new HttpError(400, problem.code, problem.message);
  // A slow store costs this request at most the read deadline: then the last good record.
  let readError: string | undefined;
  if (hub.reachable) await hub.reads.run(() => hub.applyChanges([key])).catch((err: Error) => (readError = err.message));
  let record = hub.get(key);
  if (!record) return null;
  // A replica following another's reads re-read the reader's record, whose TTL is as of the
  // reader's last read of that key (it re-reads what changes, not what counts down): the page
  // shows the store's own, read now, as the table does.
  if (readError === undefined && hub.reachable && hub.adapter.relayed?.()) record = (await withFreshTtls(hub, [record]))[0];
  // The fence is made here, for this answer (viewers get it blanked: lib/api/exposure.ts).
  const lock = withFence(record);
  const status = hub.statusEvent();
  const fresh = hub.freshness();
  const plan = hub.adapter.describeRelease(lock, "delete");
  // One plan per offered mode: the dialog shows what the chosen mode deletes (blast radius).
  const plans = Object.fromEntries(plan.modes.map((m) => [m, m === "delete" ? plan : hub.adapter.describeRelease(lock, m)]));
  // Holders that can be released alone (a Consul semaphore's slots): one plan per holder and
  // mode, so the dialog's title names the one slot (or "all") the release will act on.
  const targetPlans = plan.targets?.length
    ? Object.fromEntries(
        plan.targets.map((t) => [t.id, Object.fromEntries((t.modes ?? plan.modes).map((m) => [m, hub.adapter.describeRelease(lock, m, t.id)]))]),
      )
    : undefined;
  return {
    lock,
    related: related(record, hub.all()),
    plan,
    plans,
    ...(targetPlans && { targetPlans }),
    // A mode that acts on a lock nobody holds (an empty ZooKeeper lock parent): its button label.
    ...freeLockRelease(hub.adapter.kind, plan.modes),
    mode: status.mode,
    pollIntervalMs: status.pollIntervalMs,
    // now, confirmedAt, confirmedBy, confirmedAgeMs, stale, staleAgeMs, outageSince (lib/api/types.ts
    // Freshness); a re-read cut at the deadline makes this answer stale, aged from the last confirmation.
    ...fresh,
    ...(readError !== undefined && !fresh.stale && { stale: true, staleAgeMs: fresh.confirmedAgeMs }),
    consistency: status.consistency,
    ...(readError && { readError: `not re-read: ${readError}; showing the record read ${lock.observedAt}` }),
  };
}

/** The label of the first mode that acts on a lock nobody holds, when the plan offers one. */
function freeLockRelease(kind: string, modes: string[]): { freeLockRelease?: string } {
  const labels: Partial<Record<string, string>> = storeModule(kind).freeLockModes;
  const label = modes.map((m) => labels[m]).find(Boolean);
  return label ? { freeLockRelease: label } : {};
}

/** Other LOCKS on the same lease or session (the lock's own helper keys are in lock.relatedKeys). */
function related(lock: LockRecord, all: Iterable<LockRecord>): string[] {
  const out = new Set<string>();
  const leases = new Set(lock.holders.flatMap((h) => [h.lease?.id, h.session?.id]).filter(Boolean));
  if (leases.size > 0) {
    for (const other of all) {
      if (other.key === lock.key) continue;
      if (other.holders.some((h) => leases.has(h.lease?.id) || leases.has(h.session?.id))) out.add(other.key);
    }
  }
  return [...out];
}

/**
 * What is known of a lock that is gone (404 of GET …/lock): its last life event from history
 * (released, expired, force-released, lost in a gap) and the last force-release attempt on it
 * from the audit log (who, why, what came of it). Each part is null when nothing is known.
 */
export async function goneLock(reg: Registry, connection: string, key: string): Promise<GoneLock> {
  let last: GoneLock["last"] = null;
  const store = reg.history?.reader();
  if (store) {
    try {
      const now = Date.now();
      const ends = await store.events({ connection, key, from: now - GONE_LOOKBACK_MS, to: now + 1, kinds: ["released", "expired", "force-released", "lost"] });
      const e = ends.at(-1);
      if (e) last = { at: e.at, kind: e.kind, holder: e.holder, owner: e.owner, holdMs: e.holdMs, ...(e.cause && { cause: e.cause }) };
    } catch {
      // History unavailable: say nothing rather than guess.
    }
  }
  let release: GoneLock["release"] = null;
  const entries = reg.audit.read({ connection, key, limit: 50 }).filter((e) => (e.action ?? "release") === "release");
  const intent = entries.find((e) => e.phase === "intent" && e.outcome !== "pending_approval") ?? entries.find((e) => e.phase === "intent");
  if (intent) {
    const outcome = entries.find((e) => e.phase === "outcome" && e.requestId === intent.requestId);
    release = { at: intent.at, actor: intent.actor, reason: intent.reason, mode: intent.mode, ...(outcome?.outcome && { outcome: outcome.outcome }) };
  }
  return { last, release };
}

/** The 404's message in words, from what history and the audit log know. */
export function goneMessage(g: GoneLock): string {
  const l = g.last;
  if (!l) return "no lock under that key (not seen in history: released, expired, or never a lock)";
  const when = new Date(l.at).toISOString();
  if (l.kind === "force-released" && g.release) return `force-released by ${g.release.actor} at ${when}, reason: ${g.release.reason}`;
  if (l.kind === "lost") return `lost at ${when} while LockDeck could not see the store (${causeText(l.cause ?? "unknown")})`;
  const why = l.kind === "expired" ? `: ${expiryCause(l.cause)}` : "";
  return `${l.kind} at ${when}${l.holder ? ` (holder ${l.holder})` : ""}${why}`;
}
