// Least exposure: what each role is sent. Viewers see holders, queues and TTLs; raw value
// previews, fences and release plans (which name the exact holding) go to those who may
// release. The audit export needs the same.

import type { LockRecord, ReleasePlan } from "../model";
import { can, type Actor } from "../auth/guard";

const NO_PLAN: ReleasePlan = { modes: [], deletes: "", command: "", holderNotified: false, notes: [] };

/** The lock as this actor may see it (the same object when nothing is withheld). */
export function lockFor(actor: Actor | null): (lock: LockRecord) => LockRecord {
  if (can(actor, "release")) return (lock) => lock;
  return (lock) => {
    const { raw: _raw, ...rest } = lock;
    return { ...rest, fence: "" };
  };
}

/** A lock detail answer as this actor may see it. */
export function detailFor<D extends { lock: LockRecord; plan: ReleasePlan; plans: Record<string, ReleasePlan> }>(actor: Actor | null, detail: D): D {
  if (can(actor, "release")) return detail;
  // targetPlans (one plan per holder that can be released alone) name holdings too.
  return { ...detail, lock: lockFor(actor)(detail.lock), plan: NO_PLAN, plans: {}, ...("targetPlans" in detail && { targetPlans: {} }) };
}
