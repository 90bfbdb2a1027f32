// Per-connection read settings: how locks are read (consistency) and what a release waits for.
// A change reopens the connection with the new settings; it lasts until the server restarts
// (the config file stays the source of truth).

import { z } from "zod";
import type { ConnectionConfig } from "../config";
import type { Registry } from "../registry";
import { HttpError } from "./errors";
import { CONSUL_CONSISTENCY_OPTIONS } from "../stores/consul/config";
import { ZOOKEEPER_CONSISTENCY_OPTIONS } from "../stores/zookeeper/config";
import { ETCD_CONSISTENCY_OPTIONS } from "../stores/etcd/config";
import type { Actor } from "../auth/guard";
import { randomUUID } from "node:crypto";

export const SettingsBody = z
  .object({ consistency: z.string().min(1).max(50), waitReplicas: z.number().int().min(0).max(16).optional() })
  .strict();

interface Option {
  value: string;
  label: string;
  description: string;
}

function optionsOf(c: ConnectionConfig): Option[] {
  if (c.kind === "redis") {
    const opts: Option[] = [
      {
        value: "primary",
        label: "Primary",
        description: "Read from the primary: what lock clients see. Costs the primary one SCAN pass and small pipelines.",
      },
    ];
    if (c.replicaUrl) {
      opts.push({
        value: "replica",
        label: "Replica (may lag)",
        description: "Read from the replica to spare the primary. Replication is asynchronous, so a lock can show held after it was released, or the reverse. Releases still go to the primary.",
      });
    }
    return opts;
  }
  if (c.kind === "consul") return CONSUL_CONSISTENCY_OPTIONS;
  if (c.kind === "zookeeper") return ZOOKEEPER_CONSISTENCY_OPTIONS;
  if (c.kind === "etcd") return ETCD_CONSISTENCY_OPTIONS;
  return [{ value: "linearizable", label: "In-process", description: "The embedded store answers from memory: always current." }];
}

export function settingsOf(c: ConnectionConfig) {
  return {
    consistency: c.kind === "memory" ? "linearizable" : c.consistency,
    options: optionsOf(c),
    /** Redis only: WAIT for this many replicas after a release; null where it does not apply. */
    waitReplicas: c.kind === "redis" ? c.waitReplicas : null,
  };
}

export async function applySettings(reg: Registry, id: string, body: z.infer<typeof SettingsBody>, actor: Actor) {
  const current = reg.get(id).config;
  if (!optionsOf(current).some((o) => o.value === body.consistency)) {
    throw new HttpError(400, "bad_request", `consistency "${body.consistency}" is not available for this connection`);
  }
  reg.audit.append({
    action: "settings", requestId: randomUUID(), phase: "outcome", actor: actor.name, role: actor.role, connection: id,
    key: "", format: "", fence: "", reason: "", mode: "", outcome: "applied", detail: JSON.stringify(body),
    sourceIp: actor.sourceIp, userAgent: actor.userAgent,
  });
  if (current.kind === "memory") return settingsOf(current);
  // The value was checked against this store's own options just above.
  const next = {
    ...current,
    consistency: body.consistency,
    ...(current.kind === "redis" ? { waitReplicas: body.waitReplicas ?? current.waitReplicas } : {}),
  } as ConnectionConfig;
  await reg.reopen(next);
  return settingsOf(next);
}
