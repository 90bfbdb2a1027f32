// The store registry: one line per store kind. Each store's folder (lib/stores/<kind>/) holds
// its client library and its descriptor (module.ts, the StoreModule contract in ./module.ts);
// everything else asks this file: the connection config union, the adapters, the settings
// options, warning texts, release modes, and the store-specific views and API routes.
// Adding a store: a folder, one line here, and the adapter contract suite
// (test/contract/) passing against its real server — docs/architecture.md, "How to add a store".

import { z } from "zod";
import type { ConnectionBase, StoreModule, StoreRegistry, StoreView, WarningText } from "./module";
import { redis } from "./redis/module";
import { etcd } from "./etcd/module";
import { consul } from "./consul/module";
import { zookeeper } from "./zookeeper/module";
import { memory } from "./memory/module";

/** No config at all = the embedded store with the demo workload. */
export { DEMO_CONNECTIONS } from "./memory/config";

export const STORES = { redis, etcd, consul, zookeeper, memory };

// Each entry is a whole StoreModule under its own kind (a key that is not the module's kind does not compile).
STORES satisfies StoreRegistry<typeof STORES>;

export type StoreKind = keyof typeof STORES;
/** One connection of lockdeck.config.json, as its store's schema parsed it. */
export type ConnectionConfig = { [K in StoreKind]: z.output<(typeof STORES)[K]["config"]> }[StoreKind];
/** Every release mode some store offers (each store's are in its module's releaseModes). */
export type ReleaseMode = (typeof STORES)[StoreKind]["releaseModes"][number];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a module of any kind, seen through the common contract
type AnyModule = StoreModule<string, any>;
const MODULES: AnyModule[] = Object.values(STORES);

export const STORE_KINDS = MODULES.map((m) => m.kind) as StoreKind[];
export const RELEASE_MODES = [...new Set(MODULES.flatMap((m) => m.releaseModes))] as [ReleaseMode, ...ReleaseMode[]];

/** The descriptor of a store kind (a kind the config accepted always has one). */
export function storeModule(kind: string): StoreModule<string, ConnectionBase> {
  const m = MODULES.find((x) => x.kind === kind);
  if (!m) throw new Error(`no store kind "${kind}"`);
  return m;
}

/** A connection of any kind: the discriminated union of every store's schema, then its cross-field checks. */
type Option = z.ZodDiscriminatedUnionOption<"kind">;
export const ConnectionSchema = (
  z.discriminatedUnion("kind", MODULES.map((m) => m.config as unknown as Option) as [Option, ...Option[]]) as unknown as z.ZodType<
    ConnectionConfig,
    z.ZodTypeDef,
    unknown
  >
).superRefine((c, ctx) => {
  const issue = storeModule(c.kind).configIssue(c);
  if (issue) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [issue.path], message: issue.message });
});

/** Warning texts of every store, by warning id (the UI merges them with the model's own). */
export function storeWarnings(): Record<string, WarningText> {
  return Object.assign({}, ...MODULES.map((m) => m.warnings));
}

/** The extra views (tabs, pages, API routes) of a connection of this kind. */
export function storeViews(kind: string): readonly StoreView[] {
  return MODULES.find((m) => m.kind === kind)?.views ?? [];
}

/** Which kinds have a view at this path (for the 404 that names them). */
export function kindsWithView(path: string): string[] {
  return MODULES.filter((m) => m.views.some((v) => v.path === path)).map((m) => m.kind);
}
