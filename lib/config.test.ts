import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, publicConnection } from "./config";

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
    [[{ id: "a", kind: "memory" }, { id: "a", kind: "memory" }], "connections: connection ids must be unique"],
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

  it("invalid JSON is named as such", () => {
    expect(() => load({ LOCKDECK_CONNECTIONS: "{nope" })).toThrow(/LOCKDECK_CONNECTIONS\): not valid JSON/);
  });

  it("what the browser sees of a connection has no credentials", () => {
    const cfg = load({ LOCKDECK_CONNECTIONS: JSON.stringify([{ id: "r", kind: "redis", url: "redis://u:SECRET@h:1", password: "SECRET" }]) });
    expect(JSON.stringify(publicConnection(cfg.connections[0]))).not.toContain("SECRET");
  });
});
