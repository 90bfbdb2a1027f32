// Every API route answers every method: the ones it serves, and for the rest the JSON 405 naming
// `method` with an Allow header (lib/api/methods.ts), never Next's empty 405.

import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigSchema, type Config } from "@/lib/config";
import { HTTP_METHODS } from "@/lib/api/methods";

type Route = Partial<Record<(typeof HTTP_METHODS)[number], (req: Request, ctx?: unknown) => Promise<Response>>>;
const routes = import.meta.glob<Route>("./**/route.ts");
const g = globalThis as unknown as { __lockdeckConfig?: Config };
const HOST = "127.0.0.1:3000";

beforeAll(() => {
  g.__lockdeckConfig = ConfigSchema.parse({
    connections: [{ id: "m", kind: "memory", workload: false }],
    dataDir: mkdtempSync(path.join(tmpdir(), "ld-methods-")),
    history: { enabled: false },
  });
});

describe("API routes and methods", () => {
  it("finds the routes", () => {
    expect(Object.keys(routes).length).toBeGreaterThanOrEqual(23);
  });

  for (const [file, load] of Object.entries(routes)) {
    it(`${file}: every method is exported, or HEAD comes from GET`, async () => {
      const mod = await load();
      const missing = HTTP_METHODS.filter((m) => typeof mod[m] !== "function" && !(m === "HEAD" && typeof mod.GET === "function"));
      expect(missing).toEqual([]);
    });
  }

  it("a method a route does not serve: 405 naming it, with Allow; OPTIONS lists what it serves", async () => {
    const health = await routes["./health/route.ts"]!();
    const res = await health.POST!(new Request(`http://${HOST}/api/health`, { method: "POST", headers: { host: HOST } }));
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("method_not_allowed");
    expect(body.error.message).toMatch(/^method: POST /);

    const options = await health.OPTIONS!(new Request(`http://${HOST}/api/health`, { method: "OPTIONS", headers: { host: HOST } }));
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("GET, HEAD, OPTIONS");

    const settings = await routes["./connections/[id]/settings/route.ts"]!();
    const del = await settings.DELETE!(new Request(`http://${HOST}/api/connections/m/settings`, { method: "DELETE", headers: { host: HOST } }));
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, HEAD, PUT, OPTIONS");
  });
});
