// The descriptor every store folder exports (lib/stores/<kind>/module.ts), as Prometheus'
// service discoveries register theirs (discovery.RegisterConfig): everything that differs per
// store, in one object. The registry (lib/stores/index.ts) lists them, one line each, and the
// rest of the app asks it: the config union, the settings page's options, warning texts,
// release modes, the connection tabs and the store-specific API routes are all derived from it.
// Every member is required, so a store that forgets a part does not compile
// (lib/stores/module.test.ts shows it).
//
// Pure types: importing this file costs nothing at run time.

import type { ComponentType } from "react";
import type { z } from "zod";
import type { FenceHolding } from "../fence";
import type { StoreAdapter } from "../model";
import type { Hub } from "../hub/hub";

/** What every connection's config has, whatever the store. */
export interface ConnectionBase {
  id: string;
  kind: string;
  label?: string;
  readOnly: boolean;
}

export interface OpenedConnection {
  adapter: StoreAdapter;
  /** Extra things to stop with the connection (demo workload, in-process store timers). */
  stop(): void;
}

/** One read mode the settings page offers, with what it costs and what it risks. */
export interface ConsistencyOption {
  value: string;
  label: string;
  description: string;
}

/** A warning id's words for the UI: a badge and a sentence an on-call engineer can act on. */
export interface WarningText {
  short: string;
  text: string;
}

/** What the settings page (GET/PUT /api/connections/:id/settings) reads and changes. */
export interface StoreSettings<C> {
  /** The read mode in force. */
  consistency(c: C): string;
  /** The read modes this connection can use (a value outside them is refused). */
  options(c: C): ConsistencyOption[];
  /** Replicas a release WAITs for (Redis); null where the store has no such thing. */
  waitReplicas(c: C): number | null;
  /** The config with a checked setting applied (the connection is reopened with it); null: nothing to reopen. */
  apply(c: C, s: { consistency: string; waitReplicas?: number }): C | null;
}

/**
 * An extra view of a connection of this store (etcd's Leases, Consul's Sessions): a tab at
 * /c/:conn/<path>, its page, and its API at GET /api/connections/:id/<path>.
 */
export interface StoreView {
  /** URL segment, also the API's: lower-case letters and dashes. */
  path: string;
  /** The tab's label. */
  label: string;
  /** The API answer (authorised as "view" before it is called). Errors: throw HttpError (lib/api/http-error.ts). */
  api(req: Request, ctx: { hub: Hub }): Promise<Response>;
  /** The page's client component, loaded only where the view is shown (never in a server test or script). */
  page(): Promise<ComponentType<{ conn: string }>>;
}

/**
 * K: the kind; C: its connection config; M: its release modes. Declare a module with this type
 * (`export const redis: StoreModule<"redis", RedisConnectionConfig, "delete"> = {…}`), not
 * inferred: the registry's types (StoreKind, ReleaseMode) are read from these annotations.
 */
export interface StoreModule<K extends string = string, C extends ConnectionBase = ConnectionBase, M extends string = string> {
  readonly kind: K;
  /** The connection's config: a strict zod object (z.object) whose `kind` is z.literal(K). */
  readonly config: z.ZodType<C, z.ZodTypeDef, unknown>;
  /** Checks across fields of one connection (the config's superRefine calls it): the field at fault and why, or null. */
  configIssue(c: C): { path: string; message: string } | null;
  /** The adapter (and anything that runs beside it) for one connection. */
  open(c: C): OpenedConnection;
  /**
   * With several replicas on one PostgreSQL: true = one replica reads the store and the others
   * follow what it publishes (lib/shared); false = each process has its own (the memory store).
   */
  readonly shared: boolean;
  readonly settings: StoreSettings<C>;
  /** Every mode this store's adapter can offer in a ReleasePlan (the release body accepts these). */
  readonly releaseModes: readonly M[];
  /**
   * The modes that act on a lock nobody holds (ZooKeeper's prune-empty), with the lock page's
   * button label for it: the page offers that release while the lock is free.
   */
  readonly freeLockModes: Readonly<Partial<Record<M, string>>>;
  /**
   * The ids that name a holding in a fence of this store (a token value, a create revision, a
   * czxid, a session and LockIndex). A holding is still there when a fresh record's fence shares
   * one of them; after an unknown outcome that tells "not applied" from "gone". [] = nothing exact.
   */
  holdingIds(holding: FenceHolding, mode: string): string[];
  /** Words for the warnings this store's decoders and adapter put on records (lib/formats/<kind>). */
  readonly warnings: Readonly<Record<string, WarningText>>;
  readonly views: readonly StoreView[];
}

/** A registry of modules keyed by their kind (the key must be the module's own kind). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module checks its own config type (satisfies StoreModule<K, C>)
export type StoreRegistry<T> = { [K in keyof T]: StoreModule<K & string, any, string> };
