// api.Semaphore (and `consul lock -n N`): a coordination key <prefix>/.lock with
// Flags = SemaphoreFlagValue and JSON {"Limit": n, "Holders": {"<session>": true}}, updated
// only by CAS, plus one contender key <prefix>/<session> per holder AND waiter, acquired with
// that session. Pure.
//
// A holder counts the way api.Semaphore's pruneDeadHolders counts it: named in Holders AND
// some entry under the prefix is held by that session. Names in Holders without one are
// stale leftovers (the library prunes them only in memory, on its next acquire): they are
// listed last, flagged, and do not use a permit. Waiters are contenders not in Holders;
// there is no queue, so their order (CreateIndex, i.e. arrival) does not say who wins.

import type { LockRecord, Problem, Waiter } from "../../model";
import type { DecodeContext } from "../types";
import { DOT_LOCK, SEMAPHORE_FLAGS, dirOf, valueBytes, type ConsulEntry } from "./entry";
import { baseRecord, libraryFromSession, ownHolder, preview, sessionHolder, sessionWarnings, type Sessions } from "./record";

export const SEMAPHORE_FORMAT = "consul.semaphore";
const SLASH_DOT_LOCK = "/" + DOT_LOCK;

export function isSemaphoreLock(e: ConsulEntry): boolean {
  return e.Flags === SEMAPHORE_FLAGS && e.Key.endsWith(SLASH_DOT_LOCK);
}

export function isContender(e: ConsulEntry): boolean {
  return e.Flags === SEMAPHORE_FLAGS && !e.Key.endsWith(SLASH_DOT_LOCK);
}

interface SemaphoreValue {
  limit: number;
  holders: string[];
}

/** Parses the .lock JSON; null when it is not the library's shape. Own keys only (no prototype tricks). */
export function parseSemaphoreValue(bytes: Buffer): SemaphoreValue | null {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch {
    return null;
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const limit = o.Limit;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) return null;
  const h = o.Holders ?? {};
  if (!h || typeof h !== "object" || Array.isArray(h)) return null;
  const holders = Object.keys(h).filter((k) => (h as Record<string, unknown>)[k] === true);
  return { limit, holders };
}

export type SemaphoreResult = { record: LockRecord; problem?: Problem };

/**
 * Decodes one semaphore from its .lock entry and the entries directly under the same prefix
 * (`siblings`, .lock excluded). Malformed JSON gives an "unknown" record and a problem.
 */
export function decodeSemaphore(ctx: DecodeContext, lock: ConsulEntry, siblings: ConsulEntry[], sessions: Sessions): SemaphoreResult {
  const prefix = dirOf(lock.Key);
  const name = prefix.replace(/\/$/, "");
  const contenders = siblings.filter(isContender).sort((a, b) => a.CreateIndex - b.CreateIndex);
  const parsed = parseSemaphoreValue(valueBytes(lock));
  if (!parsed) {
    const rec = baseRecord(ctx, lock, { name, format: "consul.unknown", kind: "semaphore", holding: { t: "none" } });
    rec.state = "unknown";
    rec.warnings = ["unparsable"];
    rec.relatedKeys = contenders.map((c) => c.Key);
    return {
      record: rec,
      problem: { key: lock.Key, code: "bad-semaphore-json", message: "a semaphore .lock (api.Semaphore flags) whose value is not {Limit, Holders} JSON" },
    };
  }

  const liveSessions = new Set(siblings.filter((e) => e.Session).map((e) => e.Session!));
  const inHolders = new Set(parsed.holders);
  const live = parsed.holders.filter((s) => liveSessions.has(s));
  const dead = parsed.holders.filter((s) => !liveSessions.has(s));
  const contenderOf = new Map(contenders.filter((c) => c.Session).map((c) => [c.Session!, c]));

  const holding = {
    t: "sem",
    mi: lock.ModifyIndex,
    lim: parsed.limit,
    // Each holder as [contender key, session, its ModifyIndex]: the release evicts exactly these.
    hs: JSON.stringify(live.map((s) => [contenderOf.get(s)?.Key ?? prefix + s, s, contenderOf.get(s)?.ModifyIndex ?? 0])),
  };
  const rec = baseRecord(ctx, lock, { name, format: SEMAPHORE_FORMAT, kind: "semaphore", holding, holders: [] });
  rec.ttlSource = "session";
  rec.relatedKeys = contenders.map((c) => c.Key);
  rec.permitsFree = Math.max(0, parsed.limit - live.length);
  const warnings = new Set<string>();
  let firstSession = null;
  for (const s of live) {
    const { holder, session } = sessionHolder(s, sessions);
    firstSession ??= session;
    rec.holders.push(ownHolder(holder));
    for (const w of sessionWarnings(session)) warnings.add(w);
  }
  for (const s of dead) {
    const { holder } = sessionHolder(s, sessions);
    rec.holders.push({ ...holder, owner: "stale entry in .lock: its session holds no key here (does not use a permit)" });
    warnings.add("semaphore-dead-holder");
  }
  rec.waiters = contenders
    .filter((c) => c.Session && !inHolders.has(c.Session))
    .map((c, i): Waiter => {
      const { holder } = sessionHolder(c.Session!, sessions);
      return { id: c.Session!, position: i + 1, ...(holder.owner ? { owner: holder.owner } : {}), ownerKey: holder.ownerKey };
    });
  for (const s of parsed.holders) if (!sessions.has(s) && liveSessions.has(s)) warnings.add("holder-session-dead");
  rec.state = live.length > 0 ? "held" : "free";
  rec.warnings = [...warnings];
  if (parsed.limit < live.length) rec.warnings.push("over-limit");
  const firstContenderSession = contenders.find((c) => c.Session)?.Session;
  rec.library = libraryFromSession(firstSession ?? (firstContenderSession ? (sessions.get(firstContenderSession) ?? null) : null), "consul api.Semaphore");
  if (ctx.previews !== false) rec.raw = [preview(lock), ...contenders.slice(0, 4).map(preview)];
  return { record: rec };
}
