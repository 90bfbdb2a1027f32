// `npm start` refuses to listen beyond loopback when nobody has to sign in.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";

function start(env: Record<string, string>) {
  return spawnSync("node", ["scripts/start.mjs"], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 20_000 });
}

describe("npm start", () => {
  it("refuses a non-loopback HOST without users or a trusted proxy", () => {
    const r = start({ HOST: "0.0.0.0", LOCKDECK_CONNECTIONS: JSON.stringify([{ id: "m", kind: "memory" }]) });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("only listens on loopback");
  });

  it("also with a config object that has no users", () => {
    const r = start({ HOST: "10.1.2.3", LOCKDECK_CONNECTIONS: JSON.stringify({ connections: [{ id: "m", kind: "memory" }], auth: { users: [] } }) });
    expect(r.status).toBe(2);
  });
});
