// The store registry's own rules: what the compiler checks (a module that forgets a part does
// not compile) and what it cannot (keys, paths, modes agree).

import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { StoreModule } from "./module";
import { ConnectionSchema, RELEASE_MODES, STORES, storeModule, storeViews } from "./index";

const XSchema = z.object({ id: z.string(), kind: z.literal("x"), readOnly: z.boolean().default(false) }).strict();

describe("StoreModule", () => {
  it("does not compile without every part", () => {
    type X = StoreModule<"x", z.infer<typeof XSchema>, "delete">;
    const partial: Omit<X, "warnings"> = {
      kind: "x",
      config: XSchema,
      configIssue: () => null,
      open: () => {
        throw new Error("not opened in this test");
      },
      shared: true,
      settings: { consistency: () => "x", options: () => [], waitReplicas: () => null, apply: () => null },
      releaseModes: ["delete"],
      freeLockModes: {},
      holdingIds: () => [],
      views: [],
    };
    // @ts-expect-error a store that forgets its warning texts is refused by the compiler
    const forgot: X = partial;
    const complete: X = { ...partial, warnings: {} };
    expect(forgot.kind).toBe(complete.kind);
  });

  it("lists each module under its own kind", () => {
    for (const [key, m] of Object.entries(STORES)) expect(m.kind).toBe(key);
    expect(storeModule("etcd")).toBe(STORES.etcd);
    expect(() => storeModule("nope")).toThrow(/no store kind "nope"/);
  });

  it("gives each view a path no built-in route of a connection takes", () => {
    // Every static segment under a connection's pages and API (a store view there would be shadowed).
    const segments = (dir: string) =>
      readdirSync(path.join(process.cwd(), dir), { withFileTypes: true })
        .filter((d) => d.isDirectory() && !d.name.startsWith("["))
        .map((d) => d.name);
    const builtIn = new Set([...segments("app/c/[conn]"), ...segments("app/api/connections/[id]")]);
    expect(builtIn).toEqual(new Set(["lock", "locks", "settings", "waits"]));
    for (const m of Object.values(STORES)) {
      const paths = m.views.map((v) => v.path);
      expect(new Set(paths).size).toBe(paths.length);
      for (const p of paths) {
        expect(p).toMatch(/^[a-z][a-z-]*$/);
        expect(builtIn.has(p)).toBe(false);
      }
    }
    expect(storeViews("etcd").map((v) => v.label)).toEqual(["Leases"]);
    expect(storeViews("consul").map((v) => v.label)).toEqual(["Sessions"]);
    expect(storeViews("redis")).toEqual([]);
  });

  it("offers only modes it declares, on free locks too", () => {
    for (const m of Object.values(STORES)) {
      for (const free of Object.keys(m.freeLockModes)) expect(m.releaseModes).toContain(free);
      expect(m.releaseModes).toContain("delete");
    }
    expect(RELEASE_MODES).toEqual(["delete", "revoke-lease", "destroy-session", "ask-holder", "prune-empty"]);
  });

  it("parses a connection of every kind through the one union, with each store's cross-field checks", () => {
    const minimal = {
      redis: { url: "redis://127.0.0.1:6379" },
      etcd: { endpoints: ["http://127.0.0.1:2379"] },
      consul: { url: "http://127.0.0.1:8500" },
      zookeeper: { connectString: "127.0.0.1:2181" },
      memory: {},
    };
    for (const [kind, extra] of Object.entries(minimal)) {
      const c = ConnectionSchema.parse({ id: `c-${kind}`, kind, ...extra });
      expect(c.kind).toBe(kind);
      expect(
        storeModule(c.kind)
          .settings.options(c)
          .map((o) => o.value),
      ).toContain(storeModule(c.kind).settings.consistency(c));
    }
    const bad = ConnectionSchema.safeParse({ id: "r", kind: "redis", url: "redis://sentinel/0", topology: "sentinel" });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path).toEqual(["sentinels"]);
  });
});
