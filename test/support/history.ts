// History settings for a recorder run without a config (tests, the bench, the durability
// rig): the config's defaults (lib/config.ts `history`) on SQLite, in milliseconds.

import type { HistorySettings } from "../../lib/history/types";
import type { LockRecord } from "../../lib/model";

export const HISTORY_SETTINGS: HistorySettings = {
  storage: "sqlite",
  rawRetentionMs: 24 * 3_600_000,
  rollupRetentionMs: 30 * 86_400_000,
  longHoldMs: 60_000,
  longWaitMs: 10_000,
  metricsTopN: 20,
};

/**
 * A lock held by `holder` on connection "c", as a hub would hand it to the recorder: held since
 * `since`, read at `observedAt` with `ttlMs` left (null: no expiry).
 */
export function heldRecord(key: string, holder: string, o: { since: number; observedAt: number; ttlMs: number | null }): LockRecord {
  return {
    connection: "c",
    key,
    name: key,
    format: "memory.mutex",
    kind: "mutex",
    state: "held",
    holders: [{ id: holder, owner: `o-${holder}`, since: new Date(o.since).toISOString() }],
    waiters: [],
    ttlMs: o.ttlMs,
    ttlSource: o.ttlMs === null ? "lease" : "pttl",
    holding: { t: "none" },
    observedAt: new Date(o.observedAt).toISOString(),
    consistency: "x",
    warnings: [],
  };
}
