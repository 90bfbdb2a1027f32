// The Consul decoder: KV entries read under the connection's prefixes + the sessions Consul
// reports → lock records and named problems. Pure (no I/O, `now` is given).
//
// What each key is:
//   - api.Lock / `consul lock` (lock flags, any name);
//   - any other key a session holds or held (generic session lock);
//   - a <dir>/.lock that is none of these (no session, foreign flags) → unknown + problem;
//   - with api.Semaphore flags: a <dir>/.lock is a semaphore, read with the contender keys
//     beside it, which it claims; a contender no .lock claims → unknown + problem.
// Every other key is plain data and is left alone. Records come in the entries' order, the
// semaphores and orphan contenders last.

import type { LockRecord, Problem } from "../../model";
import type { DecodeContext, DecodeResult } from "../types";
import { DOT_LOCK, SEMAPHORE_FLAGS, dirOf, isDotLock, type ConsulEntry, type ConsulSession } from "./entry";
import { decodeLock, isApiLock, isSessionLock } from "./lock";
import { decodeSemaphore, isContender, isSemaphoreLock } from "./semaphore";
import { baseRecord, type NodeJudge } from "./record";
import { applyNodeHealth, nodeJudge, type NodeHealth } from "./liveness";

export const CONSUL_FORMATS = ["consul.lock", "consul.semaphore", "consul.session", "consul.unknown"];

export { LOCK_FLAGS, SEMAPHORE_FLAGS, parseKv, type ConsulEntry, type ConsulSession } from "./entry";

/**
 * The last context a decode was given, kept alive on purpose. The optimized decoder checks the
 * context's hidden class, and an object literal's hidden class dies with its last object: after
 * a major GC with no context alive, V8 threw the optimized decode away ("weak objects") and the
 * next snapshot decoded unoptimized (10k keys: 6–21 ms a snapshot instead of 2.6–4.5 ms,
 * docs/benchmarks.md). The adapter gives snapshots and re-reads contexts of one shape.
 */
const kept: { context: DecodeContext | null } = { context: null };

/**
 * With `health` (the datacenter's non-passing checks, or why unknown), every holder's node
 * liveness is set as applyNodeHealth() would set it, but judged once per session for the many
 * single-key locks instead of in a second walk over all records.
 */
export function decodeConsul(entries: ConsulEntry[], sessions: ConsulSession[], ctx: DecodeContext, health?: NodeHealth): DecodeResult {
  kept.context = ctx;
  const bySession = new Map(sessions.map((s) => [s.ID, s]));
  const judge = health && nodeJudge(health, bySession);
  const locks: LockRecord[] = [];
  const problems: Problem[] = [];
  // One pass over the entries (a first look for semaphores walked all of them once more): every
  // key without api.Semaphore flags is a lock or not on its own; keys with them (a semaphore's
  // .lock and its contenders) wait for the directories below.
  const semaphoreFlagged: ConsulEntry[] = [];
  for (const e of entries) {
    if (e.Flags === SEMAPHORE_FLAGS) semaphoreFlagged.push(e);
    else if (isApiLock(e) || isSessionLock(e)) locks.push(decodeLock(ctx, e, bySession, judge));
    else if (isDotLock(e.Key)) {
      locks.push(unknown(ctx, e, "wrong-flags"));
      problems.push({
        key: e.Key,
        code: "wrong-flags",
        message: `a .lock key with flags ${e.Flags}: neither api.Lock's nor api.Semaphore's, and no session holds it`,
      });
    }
  }
  if (semaphoreFlagged.length) decodeSemaphores(entries, semaphoreFlagged, bySession, ctx, health, judge, locks, problems);
  return { locks, problems };
}

/**
 * Semaphores and contenders: each .lock with the semaphore flags is read with every entry of its
 * directory (a holder counts only while its session holds some key there); a contender no
 * such .lock claims is an orphan.
 */
function decodeSemaphores(
  entries: ConsulEntry[],
  flagged: ConsulEntry[],
  bySession: Map<string, ConsulSession>,
  ctx: DecodeContext,
  health: NodeHealth | undefined,
  judge: NodeJudge | undefined,
  locks: LockRecord[],
  problems: Problem[],
): void {
  const byDir = new Map<string, ConsulEntry[]>();
  if (flagged.some(isSemaphoreLock)) {
    for (const e of entries) {
      const d = dirOf(e.Key);
      const list = byDir.get(d);
      if (list) list.push(e);
      else byDir.set(d, [e]);
    }
  }
  const claimed = new Set<string>();
  for (const e of flagged) {
    if (!isSemaphoreLock(e)) continue;
    const siblings = (byDir.get(dirOf(e.Key)) ?? []).filter((x) => x !== e);
    const res = decodeSemaphore(ctx, e, siblings, bySession);
    if (judge) applyNodeHealth([res.record], judge);
    locks.push(res.record);
    if (res.problem) problems.push(res.problem);
    for (const s of siblings) if (isContender(s)) claimed.add(s.Key);
  }
  for (const e of flagged) {
    if (!isContender(e) || claimed.has(e.Key)) continue;
    locks.push(unknown(ctx, e, "orphan-contender"));
    problems.push({
      key: e.Key,
      code: "semaphore-without-lock",
      message: `an api.Semaphore contender key with no ${dirOf(e.Key)}${DOT_LOCK} beside it (normal for a moment while the first contender starts)`,
    });
  }
}

function unknown(ctx: DecodeContext, e: ConsulEntry, warning: string): LockRecord {
  return baseRecord(ctx, e, { name: e.Key, format: "consul.unknown", kind: "mutex", holding: { t: "none" }, state: "unknown", warnings: [warning] });
}
