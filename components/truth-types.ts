// Answer fields the server adds for issue 16, as the UI reads them: declared once on the
// server side (lib/api/types.ts, lib/model.ts, lib/history/query.ts, lib/hub/bus.ts) and
// re-exported here under the names the components use. Pure types, safe in client bundles.

import type { Holder, ReleasePlan, Waiter } from "@/lib/model";
import type { Freshness as ServerFreshness } from "@/lib/api/types";

export type {
  AfterRelease,
  AnonymousWaiters,
  GoneLock,
  HistoryGap,
  Incident as IncidentView,
  LockHistory as LockHistoryView,
  Offender,
  OverviewAnswer,
  RecentEvent,
  SinceSource,
  TopRow as TopRowView,
  TrendPoint,
} from "@/lib/api/types";

/**
 * How current a connection's view is (lib/api/types.ts Freshness). The UI also reads it from
 * answers cached before a refetch, so the newer fields may be missing there.
 */
export type Freshness = Pick<ServerFreshness, "stale" | "staleAgeMs"> & Partial<Omit<ServerFreshness, "stale" | "staleAgeMs">>;

/** One holder a release can act on alone (a Consul semaphore's slot): ReleasePlan.targets. */
export type ReleaseTarget = NonNullable<ReleasePlan["targets"]>[number];

export type HolderView = Holder;
export type WaiterView = Waiter;
/** A lock as the API sends it: with its fence (empty for viewers), no holding. */
export type { LockView } from "@/lib/model";
export type PlanView = ReleasePlan;

/**
 * True when the server sends the issue-16 fields (freshness on connection rows), and so has
 * GET /api/overview: asking an older server would be a 404 in the browser's console.
 */
export function serverHasOverview(list: ReadonlyArray<{ confirmedAt?: unknown }> | undefined): boolean {
  return !!list?.some((c) => c.confirmedAt !== undefined);
}
