// Putting holder liveness on fresh records, the same way for every store that can tell
// (lib/formats/<store>/liveness.ts says how each judges). Pure.

import type { Holder, Liveness, LockRecord } from "../model";

/**
 * Sets each holder's liveness (`judge` returns undefined where there is nothing to judge) and the
 * store's dead-holder `warning` on the lock when a holder is judged dead. Holder objects may be
 * shared between the records of one decode: each gets one copy with its liveness, shared the
 * same way. `ownHolders`: every record's holder objects are its own and fresh (Consul), so the
 * liveness is set on them in place, no copies.
 */
export function applyHolderLiveness(locks: LockRecord[], warning: string, judge: (h: Holder, l: LockRecord) => Liveness | undefined, ownHolders = false): void {
  if (ownHolders) {
    for (const l of locks) {
      let dead = false;
      for (const holder of l.holders) {
        const liveness = judge(holder, l);
        if (!liveness) continue;
        holder.liveness = liveness;
        if (liveness.state === "dead") dead = true;
      }
      markDead(l, warning, dead);
    }
    return;
  }
  const copies = new Map<Holder, Holder>();
  for (const l of locks) {
    let dead = false;
    // New arrays only where something changes (100k records, most with nothing to add).
    let holders: Holder[] | null = null;
    for (let i = 0; i < l.holders.length; i++) {
      const holder = l.holders[i];
      let copy = copies.get(holder);
      if (!copy) {
        const liveness = judge(holder, l);
        copy = liveness ? { ...holder, liveness } : holder;
        copies.set(holder, copy);
      }
      if (copy.liveness?.state === "dead") dead = true;
      if (copy !== holder) (holders ??= l.holders.slice())[i] = copy;
    }
    if (holders) l.holders = holders;
    markDead(l, warning, dead);
  }
}

/** The lock's `warning` present exactly when a holder is judged dead (a new array where it changes). */
function markDead(l: LockRecord, warning: string, dead: boolean): void {
  if (dead || l.warnings.includes(warning)) {
    l.warnings = l.warnings.filter((w) => w !== warning);
    if (dead) l.warnings.push(warning);
  }
}
