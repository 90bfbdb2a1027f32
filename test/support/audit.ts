// Audit-trail test helpers: a release intent with every field filled, and the bytes a failed
// append could leave behind (a record chained correctly to the last one, all of it but its
// newline), for the tests of lib/audit and lib/shared that check such a record is never taken
// for a real one.

import { appendFileSync } from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import type { AuditEntry, AuditInput } from "../../lib/audit/log";

/** A release intent by ana on lock:a; `over` replaces fields. */
export const auditInput = (over: Partial<AuditInput> = {}): AuditInput => ({
  requestId: "r1",
  phase: "intent",
  actor: "ana",
  role: "operator",
  connection: "c",
  key: "lock:a",
  format: "redis.token",
  fence: "f",
  reason: "stuck",
  mode: "delete",
  ...over,
});

/** Appends `input` as a record chained after `last`, hash and all, without its newline; returns it. */
export function appendUnconfirmed(file: string, last: Pick<AuditEntry, "hash">, input: AuditInput): AuditEntry {
  const body = { ...input, id: randomUUID(), at: new Date().toISOString(), prev: last.hash };
  const hash = createHash("sha256")
    .update(last.hash + JSON.stringify(body))
    .digest("hex");
  const record = { ...body, hash } as AuditEntry;
  appendFileSync(file, JSON.stringify(record));
  return record;
}
