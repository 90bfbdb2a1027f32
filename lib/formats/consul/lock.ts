// Session locks on one KV key: api.Lock (Flags = LockFlagValue), the `consul lock` CLI (the
// same, on <prefix>/.lock), and any other key a session holds (generic). Pure.
//
// Holder = the key's Session; fencing token = LockIndex (Consul's sequencer is
// (Key, LockIndex, Session)). A key with the lock flags but no Session is a free api.Lock
// (Unlock leaves the key; only Destroy removes it). A plain key that was once acquired
// (LockIndex > 0) and is now free is shown free; one never acquired is not a lock.

import type { LockRecord } from "../../model";
import type { DecodeContext } from "../types";
import { NO_HOLDING } from "../../fence";
import { dirOf, isDotLock, LOCK_FLAGS, type ConsulEntry } from "./entry";
import { baseRecord, indexText, libraryOf, recordOf, sessionHolder, soleHolders, type NodeJudge, type Sessions } from "./record";

export const LOCK_FORMAT = "consul.lock";
export const SESSION_FORMAT = "consul.session";

export function isApiLock(e: ConsulEntry): boolean {
  return e.Flags === LOCK_FLAGS;
}

/** A key a session holds (or held) that no library layout claims. */
export function isSessionLock(e: ConsulEntry): boolean {
  return !!e.Session || e.LockIndex > 0;
}

/** With `judge`, the holder's node liveness is set too (as applyNodeHealth would, once per session). */
export function decodeLock(ctx: DecodeContext, e: ConsulEntry, sessions: Sessions, judge?: NodeJudge): LockRecord {
  const api = isApiLock(e);
  const cli = api && isDotLock(e.Key);
  const format = api ? LOCK_FORMAT : SESSION_FORMAT;
  const name = cli ? dirOf(e.Key).replace(/\/$/, "") || e.Key : e.Key;
  const fallback = api ? (cli ? "consul lock (CLI)" : "consul api.Lock") : undefined;
  const fencingToken = indexText(e.LockIndex);
  if (!e.Session) return baseRecord(ctx, e, { name, format, library: fallback, kind: "mutex", holding: NO_HOLDING, fencingToken });
  const hit = sessionHolder(e.Session, sessions, judge);
  const judged = hit.judged;
  const holding = { t: "kv", mi: e.ModifyIndex, li: e.LockIndex, s: e.Session };
  return recordOf(
    ctx,
    e,
    name,
    format,
    fallback && (libraryOf(hit) || fallback),
    "mutex",
    "held",
    holding,
    fencingToken,
    soleHolders(hit),
    judged ? judged.warnings : hit.warnings,
  );
}
