import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, publicConnection, sharedPostgresUrl } from "./config";
import { historySettings } from "./history/settings";

const load = (env: Record<string, string>) => loadConfig({ ...env } as NodeJS.ProcessEnv);

describe("config", () => {
  it("no config at all is the embedded demo", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ld-cfg-"));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const cfg = load({});
      expect(cfg.connections).toEqual([expect.objectContaining({ id: "demo", kind: "memory", workload: true })]);
    } finally {
      process.chdir(cwd);
    }
  });

  it("reads LOCKDECK_CONNECTIONS as an array, with Redis defaults filled in", () => {
    const cfg = load({ LOCKDECK_CONNECTIONS: JSON.stringify([{ id: "r", kind: "redis", url: "redis://127.0.0.1:6390" }]) });
    const r = cfg.connections[0];
    expect(r.kind === "redis" && [r.consistency, r.notifications, r.topology]).toEqual(["primary", "use", "standalone"]);
  });

  it("reads the file named by LOCKDECK_CONFIG", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "ld-cfg-")), "c.json");
    writeFileSync(file, JSON.stringify({ connections: [{ id: "m", kind: "memory", workload: false }] }));
    expect(load({ LOCKDECK_CONFIG: file }).connections[0].id).toBe("m");
  });

  it.each([
    [[{ id: "r", kind: "redis", url: "http://x" }], "connections[0].url: must start with redis:// or rediss://"],
    [[{ id: "r", kind: "redis", url: "redis://x", consistency: "eventual" }], "connections[0].consistency"],
    [[{ id: "r", kind: "redis", url: "redis://x", pasword: "typo" }], "connections[0]: Unrecognized key(s) in object: 'pasword'"],
    [
      [
        { id: "a", kind: "memory" },
        { id: "a", kind: "memory" },
      ],
      "connections: connection ids must be unique",
    ],
    [[{ id: "x", kind: "mongo" }], "connections[0].kind"],
  ])("a bad config stops start-up with one line naming the field (%#)", (conns, expected) => {
    let message = "";
    try {
      load({ LOCKDECK_CONNECTIONS: JSON.stringify(conns) });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain(expected);
    expect(message).not.toContain("\n");
  });

  it.each([
    [{ webhooks: [{ name: "s", kind: "slack", url: "ftp://hooks" }] }, "alerts.webhooks[0].url: an http:// or https:// URL"],
    [{ webhooks: [{ name: "s", kind: "teams", url: "https://x" }] }, "alerts.webhooks[0].kind"],
    [{ webhooks: [{ name: "s", kind: "json", url: "https://x", secret: "typo" }] }, "alerts.webhooks[0]: Unrecognized key(s) in object: 'secret'"],
    [
      {
        webhooks: [
          { name: "a", kind: "json", url: "https://x" },
          { name: "a", kind: "slack", url: "https://y" },
        ],
      },
      "alerts.webhooks: webhook names must be unique",
    ],
    [{ repeatIntervalMs: 1000 }, "alerts.repeatIntervalMs"],
    [{ rules: { deadlocks: true } }, "alerts.rules: Unrecognized key(s) in object: 'deadlocks'"],
  ])("a bad alerts section stops start-up naming the field (%#)", (alerts, expected) => {
    expect(() => load({ LOCKDECK_CONNECTIONS: JSON.stringify({ connections: [{ id: "m", kind: "memory" }], alerts }) })).toThrow(expected);
  });

  it("alerts default to every rule on, no webhook, a 4 h repeat", () => {
    const a = load({ LOCKDECK_CONNECTIONS: JSON.stringify([{ id: "m", kind: "memory" }]) }).alerts;
    expect(a).toMatchObject({
      rules: { deadlock: true, holderDead: true, heldTooLong: true, waiterTooLong: true },
      webhooks: [],
      repeatIntervalMs: 14_400_000,
      forMs: 0,
    });
  });

  it("invalid JSON is named as such", () => {
    expect(() => load({ LOCKDECK_CONNECTIONS: "{nope" })).toThrow(/LOCKDECK_CONNECTIONS\): not valid JSON/);
  });

  it("what the browser sees of a connection has no credentials", () => {
    const cfg = load({ LOCKDECK_CONNECTIONS: JSON.stringify([{ id: "r", kind: "redis", url: "redis://u:SECRET@h:1", password: "SECRET" }]) });
    expect(JSON.stringify(publicConnection(cfg.connections[0]))).not.toContain("SECRET");
  });

  it("one PostgreSQL, named once: postgres.url, LOCKDECK_POSTGRES_URL or history's older name; two different ones stop start-up", () => {
    const conns = [{ id: "m", kind: "memory" }];
    const withDb = (extra: object) => load({ LOCKDECK_CONNECTIONS: JSON.stringify({ connections: conns, ...extra }) });
    const a = withDb({ postgres: { url: "postgres://db/a" } });
    expect([sharedPostgresUrl(a, {} as NodeJS.ProcessEnv), historySettings(a).storage, a.postgres.poolMax]).toEqual(["postgres://db/a", "postgres", 10]);
    const old = withDb({ history: { storage: "postgres", postgresUrl: "postgres://db/a" } });
    expect(sharedPostgresUrl(old, {} as NodeJS.ProcessEnv)).toBe("postgres://db/a");
    expect(historySettings(withDb({})).storage).toBe("sqlite");
    expect(historySettings(withDb({ postgres: { url: "postgres://db/a" }, history: { storage: "sqlite" } })).storage).toBe("sqlite");
    expect(() => withDb({ postgres: { url: "postgres://db/a" }, history: { postgresUrl: "postgres://db/b" } })).toThrow(
      /postgres\.url: postgres\.url and history\.postgresUrl name different databases/,
    );
    expect(() => withDb({ history: { storage: "postgres" } })).toThrow(/history\.postgresUrl: .*no database is named/);
    expect(() => withDb({ postgres: { url: "mysql://db/a" } })).toThrow(/postgres\.url: a postgres:\/\/ URL/);
    const saved = process.env.LOCKDECK_POSTGRES_URL;
    process.env.LOCKDECK_POSTGRES_URL = "postgres://db/env";
    try {
      expect(sharedPostgresUrl(withDb({}))).toBe("postgres://db/env");
      expect(() => withDb({ postgres: { url: "postgres://db/a" } })).toThrow(/different databases/);
    } finally {
      if (saved === undefined) delete process.env.LOCKDECK_POSTGRES_URL;
      else process.env.LOCKDECK_POSTGRES_URL = saved;
    }
  });
});
