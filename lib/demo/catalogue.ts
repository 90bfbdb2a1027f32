// The locks the demo workloads contend on: realistic names, the service that takes each, and
// how it behaves. Shared by the in-process workload and the real-Redis one, so both demos
// tell the same story. Profiles are interleaved so any prefix of the list has a mix.

import type { Rng } from "./prng";
import type { Range } from "./scheduler";

/**
 * bursty     short holds by several workers; a queue forms and drains.
 * steady     one long holder that keeps renewing its lease; sometimes a patient waiter.
 * semaphore  N permits shared by more workers than permits.
 * crashy     holders that often die mid-hold: renewals stop and the lease runs down.
 * no-expiry  taken once without a TTL by a process that then died: stale forever.
 */
export type DemoProfile = "bursty" | "steady" | "semaphore" | "crashy" | "no-expiry";

export interface DemoLock {
  name: string;
  /** Owner label prefix: "<service>-<n> pid <pid>". */
  service: string;
  profile: DemoProfile;
  /** Semaphores only. */
  permits?: number;
}

export const DEMO_LOCKS: readonly DemoLock[] = [
  { name: "orders:payout", service: "payout-worker", profile: "bursty" },
  { name: "billing/invoice-run", service: "billing-worker", profile: "steady" },
  { name: "jobs/compaction", service: "compactor", profile: "crashy" },
  { name: "report:nightly", service: "report-cron", profile: "no-expiry" },
  { name: "inventory:sku:4821", service: "inventory-api", profile: "bursty" },
  { name: "shipping:label-printer", service: "label-service", profile: "semaphore", permits: 3 },
  { name: "payments:refund-batch", service: "refund-worker", profile: "steady" },
  { name: "inventory:sku:1177", service: "inventory-api", profile: "bursty" },
  { name: "search/reindex", service: "indexer", profile: "crashy" },
  { name: "webhooks:retry:stripe", service: "webhook-relay", profile: "bursty" },
  { name: "migrations/schema", service: "migrate", profile: "no-expiry" },
  { name: "email:digest:daily", service: "mailer", profile: "steady" },
  { name: "users:merge:88213", service: "accounts-api", profile: "bursty" },
  { name: "exports/csv", service: "export-worker", profile: "semaphore", permits: 4 },
  { name: "ledger:close-day", service: "ledger", profile: "steady" },
  { name: "tenant:4410:rebalance", service: "rebalancer", profile: "crashy" },
  { name: "images:thumbnail:queue", service: "thumbnailer", profile: "bursty" },
  { name: "scheduler/leader", service: "scheduler", profile: "steady" },
  { name: "cart:checkout:551902", service: "checkout-api", profile: "bursty" },
  { name: "cache:warmup:eu-west-1", service: "cache-warmer", profile: "no-expiry" },
  { name: "notifications:sms-quota", service: "notifier", profile: "semaphore", permits: 5 },
  { name: "accounts:password-reset:7731", service: "accounts-api", profile: "bursty" },
  { name: "catalog:price-sync", service: "price-sync", profile: "crashy" },
  { name: "analytics/rollup-hourly", service: "rollup", profile: "steady" },
  { name: "fraud:score-model-reload", service: "fraud-scorer", profile: "bursty" },
  { name: "backup/snapshot", service: "backup-agent", profile: "steady" },
  { name: "geo:tiles:render", service: "tile-renderer", profile: "bursty" },
  { name: "orders:fulfil:eu", service: "fulfilment", profile: "bursty" },
];

/** The first `count` demo locks; past the catalogue, more hot SKUs. */
export function demoLocks(count: number = DEMO_LOCKS.length): DemoLock[] {
  const locks = DEMO_LOCKS.slice(0, count);
  for (let i = locks.length; i < count; i++) {
    locks.push({ name: `inventory:sku:${5000 + i * 7}`, service: "inventory-api", profile: "bursty" });
  }
  return locks;
}

/** How one simulated worker behaves. Ranges are ms, drawn afresh each time. */
export interface WorkerPlan {
  /** Lease asked for; null = takes the lock without expiry (the SETNX-without-TTL mistake). */
  ttlMs: Range | null;
  holdMs: Range;
  /** Pause between holds; [0, 0] = re-acquire at once. */
  thinkMs: Range;
  /** How long to wait for the lock before giving up; null = forever. */
  waitMs: Range | null;
  /** Per holding: the chance the worker dies without releasing. */
  crashChance: number;
}

const S = 1000;
const BURSTY: WorkerPlan = { ttlMs: [10 * S, 30 * S], holdMs: [300, 3 * S], thinkMs: [500, 5 * S], waitMs: [20 * S, 60 * S], crashChance: 0.02 };
const STEADY: WorkerPlan = { ttlMs: [15 * S, 30 * S], holdMs: [60 * S, 300 * S], thinkMs: [0, 0], waitMs: null, crashChance: 0 };
const PATIENT: WorkerPlan = { ttlMs: [15 * S, 30 * S], holdMs: [5 * S, 20 * S], thinkMs: [30 * S, 90 * S], waitMs: null, crashChance: 0 };
const SHARED: WorkerPlan = { ttlMs: [20 * S, 40 * S], holdMs: [1 * S, 8 * S], thinkMs: [500, 4 * S], waitMs: [30 * S, 90 * S], crashChance: 0.02 };
const CRASHY: WorkerPlan = { ttlMs: [20 * S, 45 * S], holdMs: [20 * S, 60 * S], thinkMs: [1 * S, 5 * S], waitMs: null, crashChance: 0.6 };
const NO_EXPIRY: WorkerPlan = { ttlMs: null, holdMs: [0, 0], thinkMs: [0, 0], waitMs: null, crashChance: 1 };
const AFTER_FIX: WorkerPlan = { ttlMs: [20 * S, 30 * S], holdMs: [2 * S, 8 * S], thinkMs: [5 * S, 20 * S], waitMs: null, crashChance: 0 };

/** The workers of one lock, drawn from the seeded PRNG. The first one is the lock's first holder. */
export function workersFor(lock: DemoLock, rng: Rng): WorkerPlan[] {
  const times = (n: number, plan: WorkerPlan) => Array.from({ length: n }, () => plan);
  switch (lock.profile) {
    case "bursty":
      return times(rng.int(3, 5), BURSTY);
    case "steady":
      return [STEADY, ...times(rng.int(0, 1), PATIENT)];
    case "semaphore":
      return times((lock.permits ?? 1) + rng.int(0, 2), SHARED);
    case "crashy":
      return times(rng.int(2, 3), CRASHY);
    case "no-expiry":
      // The dead first holder, then workers that wait behind it forever (until an operator
      // force-releases it; then they run normally).
      return [NO_EXPIRY, ...times(rng.int(0, 2), AFTER_FIX)];
  }
}
