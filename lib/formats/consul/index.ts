// The Consul decoder: KV entries read under the connection's prefixes + the sessions Consul
// reports → lock records and named problems. Pure (no I/O, `now` is given).
//
// Order, each step claiming its keys:
//   1. semaphores: <dir>/.lock with api.Semaphore flags, with the contender keys beside it;
//   2. contender keys (semaphore flags) with no .lock beside them → unknown + problem;
//   3. api.Lock / `consul lock` (lock flags, any name);
//   4. any other key a session holds or held (generic session lock);
//   5. a <dir>/.lock that is none of the above (no session, foreign flags) → unknown + problem.
// Every other key is plain data and is left alone.

import type { LockRecord, Problem } from "../../model";
import type { DecodeContext, DecodeResult } from "../types";
import { DOT_LOCK, dirOf, isDotLock, type ConsulEntry, type ConsulSession } from "./entry";
import { decodeLock, isApiLock, isSessionLock } from "./lock";
import { decodeSemaphore, isContender, isSemaphoreLock } from "./semaphore";
import { baseRecord } from "./record";
import { applyNodeHealth, nodeJudge, type NodeHealth } from "./liveness";

export const CONSUL_FORMATS = ["consul.lock", "consul.semaphore", "consul.session", "consul.unknown"];

export { LOCK_FLAGS, SEMAPHORE_FLAGS, parseKv, type ConsulEntry, type ConsulSession } from "./entry";

/**
 * With `health` (the datacenter's non-passing checks, or why unknown), every holder's node
 * liveness is set as applyNodeHealth() would set it, but judged once per session for the many
 * single-key locks instead of in a second walk over all records.
 */
export function decodeConsul(entries: ConsulEntry[], sessions: ConsulSession[], ctx: DecodeContext, health?: NodeHealth): DecodeResult {
  const bySession = new Map(sessions.map((s) => [s.ID, s]));
  const judge = health && nodeJudge(health);
  // Directories only matter to semaphores: grouped only when there is one (10k plain locks skip it).
  const byDir = new Map<string, ConsulEntry[]>();
  if (entries.some(isSemaphoreLock)) {
    for (const e of entries) {
      const d = dirOf(e.Key);
      const list = byDir.get(d);
      if (list) list.push(e);
      else byDir.set(d, [e]);
    }
  }
  const claimed = new Set<string>();
  const locks: LockRecord[] = [];
  const problems: Problem[] = [];

  for (const e of byDir.size ? entries : []) {
    if (!isSemaphoreLock(e)) continue;
    const siblings = (byDir.get(dirOf(e.Key)) ?? []).filter((x) => x !== e);
    const res = decodeSemaphore(ctx, e, siblings, bySession);
    if (health) applyNodeHealth([res.record], health, judge);
    locks.push(res.record);
    if (res.problem) problems.push(res.problem);
    claimed.add(e.Key);
    for (const s of siblings) if (isContender(s)) claimed.add(s.Key);
  }
  // Keys are unique (one read's entries): only what a semaphore claimed needs skipping.
  for (const e of entries) {
    if (claimed.size && claimed.has(e.Key)) continue;
    if (isContender(e)) {
      locks.push(unknown(ctx, e, "orphan-contender"));
      problems.push({
        key: e.Key,
        code: "semaphore-without-lock",
        message: `an api.Semaphore contender key with no ${dirOf(e.Key)}${DOT_LOCK} beside it (normal for a moment while the first contender starts)`,
      });
    } else if (isApiLock(e) || isSessionLock(e)) {
      locks.push(decodeLock(ctx, e, bySession, judge));
    } else if (isDotLock(e.Key)) {
      locks.push(unknown(ctx, e, "wrong-flags"));
      problems.push({
        key: e.Key,
        code: "wrong-flags",
        message: `a .lock key with flags ${e.Flags}: neither api.Lock's nor api.Semaphore's, and no session holds it`,
      });
    }
  }
  return { locks, problems };
}

function unknown(ctx: DecodeContext, e: ConsulEntry, warning: string): LockRecord {
  return baseRecord(ctx, e, { name: e.Key, format: "consul.unknown", kind: "mutex", holding: { t: "none" }, state: "unknown", warnings: [warning] });
}
