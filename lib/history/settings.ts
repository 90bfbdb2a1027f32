// Config (lib/config.ts `history`) to the recorder's settings in milliseconds.

import type { Config } from "../config";
import type { HistorySettings } from "./types";

export function historySettings(h: Config["history"]): HistorySettings {
  return {
    storage: h.storage,
    postgresUrl: h.postgresUrl ?? process.env.LOCKDECK_HISTORY_POSTGRES_URL,
    rawRetentionMs: h.rawRetentionHours * 3_600_000,
    rollupRetentionMs: h.rollupRetentionDays * 86_400_000,
    longHoldMs: h.longHoldMs,
    longWaitMs: h.longWaitMs,
    metricsTopN: h.metricsTopN,
  };
}
