// Putting holder liveness on fresh records, the same way for every store that can tell
// (lib/formats/<store>/liveness.ts says how each judges). Pure.

import type { Holder, Liveness, LockRecord } from "../model";

/**
 * Sets each holder's liveness (`judge` returns undefined where there is nothing to judge) and the
 * store's dead-holder `warning` on the lock when a holder is judged dead. Holder objects and
 * holders arrays may be shared between records (a frozen array: lib/hub/since.ts): nothing is
 * written into them; each holder judged gets one copy with its liveness, shared the same way,
 * and a record whose holders change gets a new array.
 */
export function applyHolderLiveness(locks: LockRecord[], warning: string, judge: (h: Holder, l: LockRecord) => Liveness | undefined): void {
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
    // A shared array's copies are shared too: the new array stays frozen (lib/hub/since.ts).
    if (holders) l.holders = Object.isFrozen(l.holders) ? (Object.freeze(holders) as unknown as Holder[]) : holders;
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
