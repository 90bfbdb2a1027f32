// Decoders are pure: entries in, records and named problems out. No I/O, no clocks (now is given).

import type { LockRecord, Problem } from "../model";

export interface DecodeContext {
  connection: string;
  consistency: string;
  /** epoch ms of the store read; deadlines in the store are compared with this */
  now: number;
}

export interface DecodeResult {
  locks: LockRecord[];
  problems: Problem[];
}
