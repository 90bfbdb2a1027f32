// Warnings derived across locks rather than from one record (lib/waits: "deadlock" needs the
// other locks of the cycle). Whoever derives them hands them to the hub per lock key
// (Hub.setDerivedWarnings); the hub puts them on that key's every later record until told
// otherwise, next to the decoder's and the stale rules' warnings. Pure.

import type { LockRecord } from "../model";

/** The warnings owned by a deriver: only the deriver adds or removes them. */
export const DERIVED_WARNINGS = new Set(["deadlock"]);

const NONE: readonly string[] = [];

/** The record carrying exactly `derived` of the derived warnings; the same object when it already does. */
export function withDerived(r: LockRecord, derived: readonly string[] = NONE): LockRecord {
  // The common case, every record of a 100k re-list: none wanted, none there; no allocation.
  if (derived.length === 0 && !r.warnings.some((w) => DERIVED_WARNINGS.has(w))) return r;
  const had = r.warnings.filter((w) => DERIVED_WARNINGS.has(w));
  if (had.length === derived.length && had.every((w, i) => w === derived[i])) return r;
  return { ...r, warnings: [...r.warnings.filter((w) => !DERIVED_WARNINGS.has(w)), ...derived] };
}
