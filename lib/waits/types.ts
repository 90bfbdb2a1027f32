// The answers of GET /api/connections/:id/waits (declared once; the UI imports these).

import type { Cycle, OwnerParty, WaitEdge } from "./graph";

export type { Cycle, OwnerParty, WaitEdge };

/** An owner (a client, by its ownerKey) as the waits views show it. */
export interface WaitsOwner {
  key: string;
  /** Its newest holder (or waiter) entry: the UI names it from this (components/holder-text.ts). */
  party: OwnerParty;
  /** How many locks it holds, and the ones it waits for. */
  holds: number;
  waitsFor: string[];
  /** Judged dead, and why: its liveness (ZooKeeper, Consul) or a held lock's lease/session warning. */
  dead?: string;
  /** On a deadlock. */
  deadlocked: boolean;
}

export interface WaitsAnswer {
  connection: string;
  /** Server time of the answer (ISO): wait ages are "now − since" on the server's clock. */
  now: string;
  /** waiter owner → holder owner, labelled by the lock; locks on a cycle first. */
  edges: Array<WaitEdge & { lockName: string; deadlock: boolean }>;
  /** All edges; more than edges.length means the answer was cut at `limit`. */
  edgesTotal: number;
  /** Deadlocks: owners[i] waits for locks[i], held by owners[i + 1] (the last by owners[0]). */
  cycles: Cycle[];
  /** Every owner named in edges and cycles. */
  owners: Record<string, WaitsOwner>;
  /** Lock names of every lock key named in edges and cycles. */
  lockNames: Record<string, string>;
  /** Contended locks whose holders or waiters carry no client identity: not in the graph. */
  unidentified: number;
  stale: boolean;
  staleAgeMs: number | null;
}

/** One holder of a lock, seen through the graph: what it waits for itself, what else it holds. */
export interface HolderWaits {
  owner: string;
  party: OwnerParty;
  dead?: string;
  /** The locks this holder is itself queued on (it cannot let go of this one before it gets them, if it needs them). */
  waitsFor: Array<{ lock: string; name: string; since?: string; position: number; holders: Array<{ key: string; party?: OwnerParty }>; deadlock: boolean }>;
  /** Other locks it holds (at most 20, by key). */
  alsoHolds: Array<{ lock: string; name: string }>;
  alsoHoldsTotal: number;
}

/** GET …/waits?key=<lock>: the lock's holders through the graph, and the deadlocks it is on. */
export interface LockWaitsAnswer {
  connection: string;
  now: string;
  key: string;
  holders: HolderWaits[];
  /** Holders that carry no client identity (plain tokens): the graph cannot follow them. */
  unidentifiedHolders: number;
  cycles: Cycle[];
  owners: Record<string, WaitsOwner>;
  lockNames: Record<string, string>;
}
