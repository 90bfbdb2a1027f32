// History settings for a recorder run without a config (tests, the bench, the durability
// rig): the config's defaults (lib/config.ts `history`) on SQLite, in milliseconds.

import type { HistorySettings } from "../../lib/history/types";

export const HISTORY_SETTINGS: HistorySettings = {
  storage: "sqlite",
  rawRetentionMs: 24 * 3_600_000,
  rollupRetentionMs: 30 * 86_400_000,
  longHoldMs: 60_000,
  longWaitMs: 10_000,
  metricsTopN: 20,
};
