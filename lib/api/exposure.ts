// Least exposure: what each role is sent. Viewers see holders, queues and TTLs; raw value
// previews, fences and release plans (which name the exact holding) go to those who may
// release. The audit export needs the same. Fences are made here, on demand, only for those
// who get them (a record keeps its compact holding: lib/fence.ts).

import type { LockRecord, LockView, ReleasePlan } from "../model";
import { can, type Actor } from "../auth/guard";
import { withFence } from "../fence";

const NO_PLAN: ReleasePlan = { modes: [], deletes: "", command: "", holderNotified: false, notes: [] };

/** Who sees what of a lock: fences and raw previews, or neither. */
export type Exposure = "release" | "view";

export function exposureOf(actor: Actor | null): Exposure {
  return can(actor, "release") ? "release" : "view";
}

/** The lock as sent with this exposure: with its fence made, or without fence and raw preview. */
export function present(exposure: Exposure, lock: LockRecord): LockView {
  if (exposure === "release") return withFence(lock);
  const { raw: _raw, holding: _holding, ...rest } = lock;
  return { ...rest, fence: "" };
}

/** The lock as this actor may see it. */
export function lockFor(actor: Actor | null): (lock: LockRecord) => LockView {
  const exposure = exposureOf(actor);
  return (lock) => present(exposure, lock);
}

/** A lock detail answer (its lock already fenced, lib/api/detail.ts) as this actor may see it. */
export function detailFor<D extends { lock: LockView; plan: ReleasePlan; plans: Record<string, ReleasePlan> }>(actor: Actor | null, detail: D): D {
  if (can(actor, "release")) return detail;
  // targetPlans (one plan per holder that can be released alone) name holdings too.
  const { raw: _raw, ...rest } = detail.lock;
  return { ...detail, lock: { ...rest, fence: "" }, plan: NO_PLAN, plans: {}, ...("targetPlans" in detail && { targetPlans: {} }) };
}
