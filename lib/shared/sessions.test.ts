// Shared sessions (real PostgreSQL) at the start of an outage: a session signed in just before
// the database stopped, and not used since, is known to this replica (it wrote it): it may view,
// and an admin action is refused with 503 naming PostgreSQL, not 401 "sign in first". A sign-out
// refused during the outage (503) ends the session nowhere: both replicas keep it, during the
// outage and after.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { SharedDb } from "./db";
import { SharedSessions } from "./sessions";
import { AuthSchema } from "../auth/config";
import { SESSION_COOKIE } from "../auth/session";
import { authorize, resolveIdentity } from "../auth/guard";

let rig: PgRig;
let db: SharedDb;

beforeAll(async () => {
  const r = await startPostgres();
  if (!r) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
  rig = r;
  db = new SharedDb({ url: rig.url, poolMax: 2, statementTimeoutMs: 2_000 });
  await db.migrate();
}, 60_000);
afterAll(async () => {
  await db?.close();
  await rig?.stop();
});

describe("shared sessions at the start of a PostgreSQL outage", () => {
  it("a session created just before the outage views, and its approval answers 503 shared_state_unavailable (not 401)", async () => {
    const auth = AuthSchema.parse({ users: [{ name: "bo", role: "operator", passwordHash: "scrypt$131072$8$1$YQ==$YQ==" }] });
    const sessions = new SharedSessions(db);
    const token = await sessions.create(auth.users[0], 60_000);
    const approve = () =>
      new Request("http://127.0.0.1/api/approvals/x/approve", { method: "POST", headers: { cookie: `${SESSION_COOKIE}=${token}`, host: "127.0.0.1" } });
    await rig.pause();
    try {
      const seen = await sessions.lookup(token, auth.users);
      expect(seen?.user.name).toBe("bo");
      expect(seen?.degraded).toMatch(/PostgreSQL/);
      const req = approve();
      expect(await resolveIdentity(req, { auth, sessions })).toMatchObject({ name: "bo", role: "operator", degraded: expect.any(String) });
      expect(authorize(req, "view").name).toBe("bo");
      expect(() => authorize(req, "release")).toThrow(expect.objectContaining({ status: 503, code: "shared_state_unavailable" }));
      // Signing in is refused meanwhile: no session the other replicas do not know.
      await expect(sessions.create(auth.users[0], 60_000)).rejects.toMatchObject({ status: 503, code: "shared_state_unavailable" });
    } finally {
      await rig.start();
    }
    expect((await sessions.lookup(token, auth.users))?.degraded).toBeNull();
  });

  it("a sign-out refused during the outage (503) leaves the session valid on every replica, the one asked included", async () => {
    const auth = AuthSchema.parse({ users: [{ name: "ana", role: "operator", passwordHash: "scrypt$131072$8$1$YQ==$YQ==" }] });
    const dbB = new SharedDb({ url: rig.url, poolMax: 2, statementTimeoutMs: 2_000 });
    try {
      const a = new SharedSessions(db);
      const b = new SharedSessions(dbB);
      const token = await a.create(auth.users[0], 60_000);
      expect((await b.lookup(token, auth.users))?.user.name).toBe("ana");
      await rig.pause();
      try {
        await expect(a.revoke(token)).rejects.toMatchObject({ status: 503, code: "shared_state_unavailable" });
        // The session was not ended: the replica that refused the sign-out says so as the other does.
        expect((await a.lookup(token, auth.users))?.user.name).toBe("ana");
        expect((await b.lookup(token, auth.users))?.user.name).toBe("ana");
      } finally {
        await rig.start();
      }
      for (const s of [a, b]) expect(await s.lookup(token, auth.users)).toMatchObject({ user: { name: "ana" }, degraded: null });
      // Signed out for real once PostgreSQL is back: on both.
      expect((await a.revoke(token))?.user).toBe("ana");
      for (const s of [a, b]) expect(await s.lookup(token, auth.users)).toBeNull();
    } finally {
      await dbB.close();
    }
  });
});
