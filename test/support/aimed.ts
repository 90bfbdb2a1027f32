// A lock as an attacker would send it: a view whose fence is signed with the console's own key
// but names a holding of their choosing (keys, nodes, sessions outside the scope). The scope
// tests check that each adapter refuses what such a fence aims at.

import { encodeFence } from "../../lib/fence";
import type { LockView, LockRecord } from "../../lib/model";

export function aimedView(
  connection: string,
  key: string,
  format: string,
  holding: Record<string, string | number | null>,
  ttlSource: LockRecord["ttlSource"],
): LockView {
  return {
    connection,
    key,
    name: key,
    format,
    kind: "mutex",
    state: "held",
    holders: [],
    waiters: [],
    ttlMs: null,
    ttlSource,
    fence: encodeFence(connection, key, format, holding),
    observedAt: "",
    consistency: "",
    warnings: [],
  };
}
