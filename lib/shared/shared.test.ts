// Shared state on a real PostgreSQL (a throwaway cluster, test/support/postgres.ts), seen from two
// "replicas" (two SharedDb pools, as two processes would have): the schema is migrated once
// under the advisory lock however many start together; a session made on A works on B and a
// sign-out on A ends it on B; attempts spread over A and B hit one limit; an approval is taken
// once; a confirmation id is used once. PostgreSQL stopped: each call refuses with
// shared_state_unavailable (a session B checked recently still views), and started again:
// everything works with nothing restarted.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { SharedDb } from "./db";
import { SharedSessions } from "./sessions";
import { SharedRateLimiter, SharedRequestIds } from "./ratelimit";
import { SharedApprovals } from "./approvals";
import { MIGRATIONS } from "./migrations";
import type { Actor } from "../auth/guard";
import { SharedAudit } from "./audit";
import { AuditLog } from "../audit/log";
import { appendUnconfirmed } from "../../test/support/audit";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

let rig: PgRig;
const dbs: SharedDb[] = [];
const open = () => {
  const db = new SharedDb({ url: rig.url, poolMax: 4, statementTimeoutMs: 2_000 });
  dbs.push(db);
  return db;
};

beforeAll(async () => {
  const r = await startPostgres();
  if (!r) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
  rig = r;
}, 60_000);
afterAll(async () => {
  for (const db of dbs) await db.close();
  await rig?.stop();
});

const ana = { name: "ana", passwordHash: "scrypt$131072$8$1$YQ==$YQ==" };
const operator: Actor = { name: "ana", role: "operator", method: "session" };

describe("shared state in PostgreSQL", () => {
  it("migrates once, under the advisory lock, however many replicas start at the same moment", async () => {
    const many = Array.from({ length: 4 }, open);
    await Promise.all(many.map((db) => db.migrate()));
    const { rows } = await many[0].query<{ version: number }>("SELECT version FROM lockdeck_schema ORDER BY version");
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("a session made on A works on B; a sign-out on A ends it on B", async () => {
    const a = new SharedSessions(open());
    const b = new SharedSessions(open());
    const token = await a.create(ana, 60_000);
    expect((await b.lookup(token, [ana]))?.user.name).toBe("ana");
    expect((await a.revoke(token))?.user).toBe("ana");
    expect(await b.lookup(token, [ana])).toBeNull();
    expect(await b.lookup("made-up", [ana])).toBeNull();
    // A user missing from B's config (a rolling config change) is refused there, kept for A.
    const t2 = await a.create(ana, 60_000);
    expect(await b.lookup(t2, [])).toBeNull();
    expect((await a.lookup(t2, [ana]))?.user.name).toBe("ana");
    // Expired: refused and deleted.
    const t3 = await a.create(ana, 1, Date.now() - 10);
    expect(await b.lookup(t3, [ana])).toBeNull();
  });

  it("wrong sign-ins spread over A and B hit one limit", async () => {
    const a = new SharedRateLimiter(open(), "login-t", 5, 60_000);
    const b = new SharedRateLimiter(open(), "login-t", 5, 60_000);
    const answers: boolean[] = [];
    for (let i = 0; i < 8; i++) answers.push(await (i % 2 ? b : a).take("203.0.113.9|zed"));
    expect(answers).toEqual([true, true, true, true, true, false, false, false]);
    // Another key, and another limiter with the same key, count on their own.
    expect(await a.take("203.0.113.9|ana")).toBe(true);
    expect(await new SharedRateLimiter(open(), "release-t", 5, 60_000).take("203.0.113.9|zed")).toBe(true);
    // Concurrent attempts on both replicas: exactly `max` pass.
    const c = new SharedRateLimiter(open(), "burst-t", 3, 60_000);
    const d = new SharedRateLimiter(open(), "burst-t", 3, 60_000);
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? c : d).take("k")));
    expect(burst.filter(Boolean)).toHaveLength(3);
  });

  it("a pending approval made on A is listed on B and taken once; a confirmation id is used once", async () => {
    const a = new SharedApprovals(open());
    const b = new SharedApprovals(open());
    const request = { key: "lock:1", fence: "f", reason: "stale", mode: "delete" as const, requestId: crypto.randomUUID() };
    const p = await a.add("redis", request, operator, 60_000);
    expect((await b.list()).map((x) => x.id)).toContain(p.id);
    expect(await b.get(p.id)).toMatchObject({ connection: "redis", request, requester: operator });
    const [one, two] = await Promise.all([a.take(p.id), b.take(p.id)]);
    expect([one, two].filter(Boolean)).toHaveLength(1);
    expect(await b.get(p.id)).toBeNull();
    expect(await b.get("not-a-uuid")).toBeNull();
    const ids = [new SharedRequestIds(open()), new SharedRequestIds(open())];
    const id = crypto.randomUUID();
    const used = await Promise.all([ids[0].use(id), ids[1].use(id)]);
    expect(used.sort()).toEqual([false, true]);
  });

  it("PostgreSQL stopped: calls refuse with shared_state_unavailable, a recently checked session still views; started: all resumes", async () => {
    const dbA = open();
    const a = new SharedSessions(dbA);
    const b = new SharedSessions(open());
    const approvals = new SharedApprovals(dbA);
    const token = await a.create(ana, 60_000);
    expect((await b.lookup(token, [ana]))?.degraded).toBeNull();
    await rig.pause();
    try {
      await expect(a.create(ana, 60_000)).rejects.toMatchObject({ status: 503, code: "shared_state_unavailable" });
      await expect(approvals.list()).rejects.toMatchObject({
        code: "shared_state_unavailable",
        message: expect.stringMatching(/PostgreSQL.*live view carries on/),
      });
      const seen = await b.lookup(token, [ana]);
      expect(seen?.user.name).toBe("ana");
      expect(seen?.degraded).toBeTruthy();
      // A token B never checked is not accepted on trust.
      expect(await a.lookup("never-seen-token", [ana])).toBeNull();
      expect(dbA.unavailable()).not.toBeNull();
      expect((await dbA.check()).ok).toBe(false);
    } finally {
      await rig.start();
    }
    expect((await b.lookup(token, [ana]))?.degraded).toBeNull();
    const p = await approvals.add("redis", { key: "k", fence: "f", reason: "after", mode: "delete", requestId: crypto.randomUUID() }, operator, 60_000);
    expect(await approvals.take(p.id)).not.toBeNull();
    expect(dbA.unavailable()).toBeNull();
  });

  it("every replica's audit trail lands in one append-only table: merged, filtered, chains checked per trail, copied once", async () => {
    const trail = () => new AuditLog(mkdtempSync(path.join(tmpdir(), "lockdeck-audit-")));
    const [logA, logB] = [trail(), trail()];
    const base = { action: "release" as const, role: "operator", format: "redis.token", fence: "f", mode: "delete" };
    const db = open();
    const [a, b] = [new SharedAudit(db, logA.file), new SharedAudit(open(), logB.file)];
    // Entries of different replicas are ordered by time: each one here in a later millisecond.
    const nextMs = async () => {
      const t = Date.now();
      while (Date.now() === t) await new Promise((r) => setImmediate(r));
    };
    logA.append({ ...base, requestId: "r1", phase: "intent", actor: "ana", connection: "redis", key: "k1", reason: "on A" });
    await nextMs();
    logB.append({ ...base, requestId: "r1", phase: "outcome", outcome: "applied", actor: "bo", connection: "redis", key: "k1", reason: "approved on B" });
    await nextMs();
    logA.append({ ...base, requestId: "r2", phase: "intent", actor: "ana", connection: "etcd", key: "k2", reason: "other" });
    await Promise.all([a.ship(), b.ship(), a.ship()]);
    // Seen from either replica: all three, newest first; filters as in the file.
    expect((await b.read()).map((e) => e.reason)).toEqual(["other", "approved on B", "on A"]);
    expect((await a.read({ connection: "redis", key: "k1" })).map((e) => e.actor)).toEqual(["bo", "ana"]);
    expect(await a.problems()).toEqual([]);
    // A restarted replica copies nothing twice.
    await new SharedAudit(open(), logA.file).ship();
    expect(await a.read()).toHaveLength(3);
    // The table refuses edits and deletions.
    await expect(db.query("UPDATE lockdeck_audit SET text = '{}'")).rejects.toThrow(/append-only/);
    await expect(db.query("DELETE FROM lockdeck_audit")).rejects.toThrow(/append-only/);
    // A line edited in a file before it was copied shows as a broken chain, named by its entry.
    const logC = trail();
    logC.append({ ...base, requestId: "r3", phase: "intent", actor: "cy", connection: "redis", key: "k3", reason: "genuine" });
    const e = logC.append({ ...base, requestId: "r3", phase: "outcome", outcome: "applied", actor: "cy", connection: "redis", key: "k3", reason: "genuine" });
    writeFileSync(logC.file, readFileSync(logC.file, "utf8").replace('"outcome":"applied"', '"outcome":"refused"'));
    await new SharedAudit(open(), logC.file).ship();
    expect((await a.problems()).map((p) => p.id)).toEqual([e.id]);
  });

  it("a record its writer never confirmed (no newline, then chained past) is not copied; the shared chain has no mismatch", async () => {
    const log = new AuditLog(mkdtempSync(path.join(tmpdir(), "lockdeck-audit-")));
    const base = {
      action: "release" as const,
      actor: "ana",
      role: "operator",
      format: "redis.token",
      fence: "f",
      mode: "delete",
      reason: "x",
      connection: "r",
    };
    const first = log.append({ ...base, requestId: "u1", phase: "intent", key: "lock:u1" });
    const phantom = appendUnconfirmed(log.file, first, { ...base, requestId: "u-never", phase: "intent", key: "lock:u2" });
    const shared = new SharedAudit(open(), log.file);
    await shared.ship();
    const next = new AuditLog(path.dirname(log.file)).append({ ...base, requestId: "u3", phase: "intent", key: "lock:u3" });
    await shared.ship();
    expect((await shared.read({ connection: "r", key: "lock:u2" })).map((e) => e.id)).toEqual([]);
    expect((await shared.read({ requestId: "u3" })).map((e) => e.id)).toEqual([next.id]);
    const mine = new Set([first.id, phantom.id, next.id]);
    expect((await shared.problems()).filter((p) => p.id && mine.has(p.id))).toEqual([]);
  });

  it("a line with U+0000 in its key, connection or request id is copied (text exact) and blocks nothing; a line PostgreSQL still refuses is a reported stand-in", async () => {
    const log = new AuditLog(mkdtempSync(path.join(tmpdir(), "lockdeck-audit-")));
    const base = { action: "release" as const, actor: "vic", role: "viewer", format: "redis.token", fence: "", mode: "delete", reason: "x" };
    // A viewer's refused release naming a key with a NUL, on a connection id with one.
    log.append({ ...base, requestId: "r\u0000nul", phase: "outcome", outcome: "denied", connection: "r\u0000", key: "lock:\u0000x" });
    // A key PostgreSQL cannot index (a btree row holds ~2.7 kB; 2 000 random 3-byte characters).
    const huge = Array.from({ length: 2_000 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20_000))).join("");
    const big = log.append({ ...base, requestId: "r-big", phase: "outcome", outcome: "denied", connection: "r", key: huge });
    log.append({ ...base, requestId: "r-after", phase: "outcome", outcome: "denied", connection: "r", key: "lock:after" });
    const db = open();
    const shared = new SharedAudit(db, log.file);
    await shared.ship();

    // Every line is in the table, its text exactly the file's line.
    const { rows } = await db.query<{ line: number; text: string }>("SELECT line, text FROM lockdeck_audit WHERE text LIKE '%vic%' ORDER BY line");
    expect(rows.map((r) => r.text)).toEqual(readFileSync(log.file, "utf8").trimEnd().split("\n"));
    // Filters answer exactly: the NUL key, connection and request id find that line only.
    expect((await shared.read({ key: "lock:\u0000x" })).map((e) => e.requestId)).toEqual(["r\u0000nul"]);
    expect((await shared.read({ connection: "r\u0000" })).map((e) => e.key)).toEqual(["lock:\u0000x"]);
    expect((await shared.read({ requestId: "r\u0000nul" })).map((e) => e.key)).toEqual(["lock:\u0000x"]);
    expect(await shared.read({ key: "lock:\\u0000x" })).toEqual([]);
    expect((await shared.read({ key: "lock:after" })).map((e) => e.requestId)).toEqual(["r-after"]);
    // The line PostgreSQL refused as is: kept (text exact), reported, and no chain break.
    expect((await shared.read({ limit: 10 })).map((e) => e.requestId)).toContain("r-big");
    const mine = new Set(log.entries().map((e) => e.id));
    const problems = (await shared.problems()).filter((p) => p.id && mine.has(p.id));
    expect(problems).toEqual([expect.objectContaining({ id: big.id, kind: "stand-in" })]);
    // Later lines keep being copied.
    log.append({ ...base, requestId: "r-later", phase: "outcome", outcome: "denied", connection: "r", key: "lock:later" });
    await shared.ship();
    expect((await shared.read({ key: "lock:later" })).map((e) => e.requestId)).toEqual(["r-later"]);
  });
});
