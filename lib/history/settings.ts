// Config (lib/config.ts `history`) to the recorder's settings in milliseconds.

import { sharedPostgresUrl, type Config } from "../config";
import type { HistorySettings } from "./types";

export function historySettings(c: Config): HistorySettings {
  const h = c.history;
  const url = sharedPostgresUrl(c) ?? undefined;
  return {
    storage: h.storage ?? (url ? "postgres" : "sqlite"),
    postgresUrl: url,
    rawRetentionMs: h.rawRetentionHours * 3_600_000,
    rollupRetentionMs: h.rollupRetentionDays * 86_400_000,
    longHoldMs: h.longHoldMs,
    longWaitMs: h.longWaitMs,
    metricsTopN: h.metricsTopN,
  };
}
