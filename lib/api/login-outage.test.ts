// Sign-in and sign-out with sessions on PostgreSQL while it is paused (real PostgreSQL, real
// scrypt): a sign-in whose session could not be made is audited as refused, not "applied"
// before the 503; a known person's sign-out that could not end the session leaves a line too.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import { hashPassword } from "../auth/password";
import { SESSION_COOKIE } from "../auth/session";
import { login, logout } from "./login";

let rig: PgRig;
let reg: Registry;
// A shared PostgreSQL means replicas signing fences with one key.
process.env.LOCKDECK_SESSION_SECRET ??= `login-outage-test-${"k".repeat(40)}`;

const req = (cookie?: string) =>
  new Request("http://lockdeck.test/api/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json", "x-lockdeck-csrf": "1", ...(cookie ? { cookie } : {}) },
  });

beforeAll(async () => {
  const r = await startPostgres();
  if (!r) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
  rig = r;
  reg = new Registry(
    ConfigSchema.parse({
      connections: [{ id: "m", kind: "memory", workload: false }],
      dataDir: mkdtempSync(path.join(tmpdir(), "ld-login-pg-")),
      history: { enabled: false },
      postgres: { url: rig.url },
      auth: { users: [{ name: "ana", role: "operator", passwordHash: await hashPassword("ana-pass") }] },
    }),
  );
  // The schema is made at start-up: a first sign-in while the database is up waits for it.
  const cookie = await login(reg, { name: "ana", password: "ana-pass" }, req());
  expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
}, 120_000);
afterAll(async () => {
  for (const c of reg?.connections.values() ?? []) await c.hub.stop();
  await rig?.stop();
});

const lines = (action: string) => reg.audit.entries().filter((e) => e.action === action && e.actor === "ana");

describe("sign-in and sign-out while PostgreSQL is paused", () => {
  it("a sign-in refused because the shared limits cannot be counted is audited (once per window); a sign-out that cannot end the session is audited", async () => {
    const before = lines("login").length;
    const cookie = (await login(reg, { name: "ana", password: "ana-pass" }, req())).split(";")[0];
    await rig.pause();
    try {
      // The shared sign-in limits are counted in PostgreSQL: refused before any password check, audited once per window.
      await expect(login(reg, { name: "ana", password: "ana-pass" }, req())).rejects.toMatchObject({ status: 503 });
      await expect(login(reg, { name: "ana", password: "ana-pass" }, req())).rejects.toMatchObject({ status: 503 });
      const signIns = lines("login").slice(before);
      expect(signIns.map((e) => e.outcome)).toEqual(["applied", "refused"]);
      expect(signIns[1].detail).toMatch(/^not checked: shared state \(PostgreSQL\) is unavailable.*\(one line per 60 s\)$/);

      await expect(logout(reg, req(cookie), "ana")).rejects.toMatchObject({ status: 503 });
      const signOut = lines("logout").at(-1);
      expect(signOut).toMatchObject({ outcome: "refused", detail: expect.stringMatching(/^the session was not ended: .*PostgreSQL/) });
    } finally {
      await rig.start();
    }
  }, 60_000);

  it("PostgreSQL stops after the limits were counted, as the session is made: audited as refused, not applied before the 503", async () => {
    const before = lines("login").length;
    // The outage begins exactly at that step (the database process really stops).
    const sessions = reg.sessions as { create(...a: unknown[]): Promise<string> };
    const create = sessions.create.bind(sessions);
    sessions.create = async (...a: unknown[]) => {
      await rig.pause();
      return create(...a);
    };
    try {
      await expect(login(reg, { name: "ana", password: "ana-pass" }, req())).rejects.toMatchObject({ status: 503 });
      const signIns = lines("login").slice(before);
      expect(signIns.map((e) => e.outcome)).toEqual(["refused"]);
      expect(signIns[0].detail).toMatch(/^no session was made: shared state \(PostgreSQL\) is unavailable/);
    } finally {
      sessions.create = create;
      await rig.start();
    }
  }, 60_000);
});
