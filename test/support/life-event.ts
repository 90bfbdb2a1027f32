// A history life event with the fields tests rarely care about filled in.

import type { LifeEvent } from "../../lib/history/types";

export const lifeEvent = (at: number, kind: LifeEvent["kind"], extra: Partial<LifeEvent> = {}): LifeEvent => ({
  at,
  connection: "c",
  key: "k",
  kind,
  waiters: 0,
  resMs: 0,
  ...extra,
});
