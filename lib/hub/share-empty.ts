// Most locks have no waiters and no warnings, and some no holders: with 100k records per
// connection, an empty array each is 3 MB per list per connection. A record the hub stores is
// never edited (it is replaced), so its empty lists can be one shared, frozen array; an edit
// would throw rather than change every record at once.

import type { LockRecord } from "../model";

const EMPTY = Object.freeze([]) as readonly never[] as never[];

/** The record with its empty holder, waiter and warning lists replaced by one shared array (in place). */
export function shareEmptyLists(r: LockRecord): LockRecord {
  if (r.holders.length === 0) r.holders = EMPTY;
  if (r.waiters.length === 0) r.waiters = EMPTY;
  if (r.warnings.length === 0) r.warnings = EMPTY;
  return r;
}
