// The leases page of an etcd connection (GET /api/connections/:id/leases): every lease with its
// remaining and granted TTL from LeaseTimeToLive, its attached keys, and for each key the lock
// it belongs to and whether this lease holds that lock or waits for it. Plus the cluster status.

import type { LockRecord, StoreAdapter } from "../../model";
import { classify, leaseHex, type LeaseInfo } from "../../formats/etcd";
import type { ClusterStatus } from "./status";
import type { Hub } from "../../hub/hub";
import { z } from "zod";
import { HttpError } from "../../api/http-error";
import { IntParamOr, parseQuery } from "../../api/params";

export interface LeaseKey {
  key: string;
  /** The lock this key belongs to, when LockDeck shows one. */
  lock?: string;
  role?: "holder" | "waiter";
  format?: string;
}

export interface LeaseRow {
  id: string;
  hex: string;
  ttlSec: number;
  grantedSec: number;
  notRenewed: boolean;
  /** Attached keys under this connection's prefixes. */
  keys: LeaseKey[];
  /** How many attached keys lie outside the prefixes: counted, never named. */
  keysElsewhere: number;
}

export interface LeasesPage {
  observedAt: string;
  total: number;
  shown: number;
  leases: LeaseRow[];
  cluster: ClusterStatus | null;
  clusterError?: string;
  error?: string;
}

/** What the route needs from the adapter (checked by shape: route bundles may hold other copies of the class). */
export interface LeaseSource {
  leases(signal: AbortSignal, limit?: number): Promise<{ total: number; leases: Array<LeaseInfo & { hex: string; keysElsewhere?: number }>; error?: string }>;
  cluster(): Promise<ClusterStatus>;
}

export function isLeaseSource(a: StoreAdapter): a is StoreAdapter & LeaseSource {
  return a.kind === "etcd" && typeof (a as Partial<LeaseSource>).leases === "function";
}

/** Which lock (if any) a key on lease `lease` is, and the lease's role in it. Pure. */
export function keyRole(key: string, lease: string, lockAt: (key: string) => LockRecord | undefined): LeaseKey {
  const layout = classify({ key, lease, value: Buffer.alloc(0), createRevision: "0", modRevision: "0", version: "0" });
  const lockKey = layout.kind === "lone" ? key : layout.group;
  const lock = lockAt(lockKey);
  if (!lock) return { key };
  const holds = lock.holders[0]?.id === leaseHex(lease);
  return { key, lock: lock.key, role: holds ? "holder" : "waiter", format: lock.format };
}

export async function leasesPage(a: LeaseSource, lockAt: (key: string) => LockRecord | undefined, signal: AbortSignal, limit = 1_000): Promise<LeasesPage> {
  const [list, cluster] = await Promise.all([
    a.leases(signal, limit),
    a.cluster().then(
      (c) => ({ c, err: undefined }),
      (err: Error) => ({ c: null, err: err.message }),
    ),
  ]);
  const leases = list.leases.map((l) => ({
    id: l.id,
    hex: l.hex,
    ttlSec: l.ttlSec,
    grantedSec: l.grantedSec,
    notRenewed: !!l.notRenewed,
    keys: (l.keys ?? []).map((k) => keyRole(k, l.id, lockAt)),
    keysElsewhere: l.keysElsewhere ?? 0,
  }));
  return {
    observedAt: new Date().toISOString(),
    total: list.total,
    shown: leases.length,
    leases,
    cluster: cluster.c,
    ...(cluster.err && { clusterError: cluster.err }),
    ...(list.error && { error: list.error }),
  };
}

const LeasesQuery = z.object({ limit: IntParamOr(1, 5_000, 1_000) });

/** GET /api/connections/:id/leases (lib/stores/etcd/module.ts): every lease, at most `limit` (1..5000, default 1000). */
export async function leasesApi(req: Request, { hub }: { hub: Hub }): Promise<Response> {
  if (!isLeaseSource(hub.adapter)) throw new HttpError(404, "not_found", "leases exist only on etcd connections");
  const { limit } = parseQuery(LeasesQuery, req);
  try {
    const page = await leasesPage(hub.adapter, (k) => hub.get(k), AbortSignal.timeout(10_000), limit);
    return Response.json({ ...page, consistency: hub.statusEvent().consistency }, { headers: { "cache-control": "no-store" } });
  } catch (err) {
    throw new HttpError(503, "unreachable", `etcd did not answer: ${(err as Error).message}`);
  }
}
