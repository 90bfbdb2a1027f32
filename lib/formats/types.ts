// Decoders are pure: entries in, records and named problems out. No I/O, no clocks (now is given).

import type { LockRecord, Problem } from "../model";

export interface DecodeContext {
  connection: string;
  consistency: string;
  /** epoch ms of the store read; deadlines in the store are compared with this */
  now: number;
  /**
   * Build raw value previews. Off for whole-keyspace snapshots (the table never shows them,
   * and at 100k keys they cost a third of the decode); on when one lock is re-read.
   */
  previews?: boolean;
  /** The ISO form of now, computed once per decode rather than once per record. */
  observedAtIso?: string;
}

export interface DecodeResult {
  locks: LockRecord[];
  problems: Problem[];
}
