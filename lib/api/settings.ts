// Per-connection read settings: how locks are read (consistency) and what a release waits for.
// A change reopens the connection with the new settings; it lasts until the server restarts
// (the config file stays the source of truth).

import { z } from "zod";
import type { ConnectionConfig } from "../config";
import type { Registry } from "../registry";
import { HttpError } from "./errors";
import { storeModule } from "../stores";
import type { Actor } from "../auth/guard";
import type { ConnectionSettings } from "./types";
import { randomUUID } from "node:crypto";

export const SettingsBody = z.object({ consistency: z.string().min(1).max(50), waitReplicas: z.number().int().min(0).max(16).optional() }).strict();

/** What the settings page shows: the read mode, the modes this connection can use, and WAIT replicas where they apply. */
export function settingsOf(c: ConnectionConfig): ConnectionSettings {
  const s = storeModule(c.kind).settings;
  return {
    consistency: s.consistency(c),
    options: s.options(c),
    waitReplicas: s.waitReplicas(c),
  };
}

export async function applySettings(reg: Registry, id: string, body: z.infer<typeof SettingsBody>, actor: Actor) {
  const current = reg.get(id).config;
  const store = storeModule(current.kind).settings;
  if (!store.options(current).some((o) => o.value === body.consistency)) {
    throw new HttpError(400, "bad_request", `consistency "${body.consistency}" is not available for this connection`);
  }
  reg.audit.append({
    action: "settings",
    requestId: randomUUID(),
    phase: "outcome",
    actor: actor.name,
    role: actor.role,
    connection: id,
    key: "",
    format: "",
    fence: "",
    reason: "",
    mode: "",
    outcome: "applied",
    detail: JSON.stringify(body),
    sourceIp: actor.sourceIp,
    userAgent: actor.userAgent,
  });
  // The value was checked against this store's own options just above.
  const next = store.apply(current, body) as ConnectionConfig | null;
  if (!next) return settingsOf(current);
  await reg.reopen(next);
  return settingsOf(next);
}
