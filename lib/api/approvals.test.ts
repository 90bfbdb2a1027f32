// The two-person rule where it can lose something (real Redis; real PostgreSQL for the shared
// part, several registries on one database as several replicas): a request whose
// pending_approval intent cannot be written (the kernel's ENOSPC, /dev/full) is not queued, so
// nobody can approve it; an approval re-reads the requester's role from the config (a demoted
// or removed requester's release does not run, and one that runs is audited with the role they
// have now); refusals that used to leave no line (an approval replayed, given twice or lost in
// a race, a release on an unknown connection, an approval while PostgreSQL is down) are audited.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { mkdtempSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { waitFor } from "../../scripts/servers/process";
import { startPostgres, type PgRig } from "../../test/support/postgres";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import { approveRelease, requestRelease, type ReleaseAnswer } from "./release";
import { toResponse } from "./errors";
import type { Actor } from "../auth/guard";
import type { Role } from "../auth/config";
import { fenceOf } from "../fence";

const as = (name: string, role: Role = "operator"): Actor => ({ name, role, method: "session" });
const ana = as("ana");
const bo = as("bo");
const cy = as("cy");
const di = as("di");
const HASH = "scrypt$131072$8$1$YQ==$YQ==";
/** Signed-in users with these roles (an approval checks the requester's role against them). */
const auth = (roles: Record<string, Role>) => ({
  users: Object.entries(roles).map(([name, role]) => ({ name, role, passwordHash: HASH })),
  releaseRateLimit: { max: 100, perSeconds: 60 },
});

// Several replicas sign fences with one key.
process.env.LOCKDECK_SESSION_SECRET ??= `approvals-test-${"k".repeat(40)}`;

let server: RedisServer;
let client: Redis;
const registries: Registry[] = [];

function open(extra: Record<string, unknown>): Registry {
  const reg = new Registry(
    ConfigSchema.parse({
      connections: [{ id: "g", kind: "redis", url: server.url, patterns: ["ap:*"], notifications: "use" }],
      auth: auth({ ana: "operator", bo: "operator", cy: "operator", di: "operator" }),
      twoPersonRule: { connections: ["g"], windowMinutes: 5 },
      dataDir: mkdtempSync(path.join(tmpdir(), "ld-approvals-")),
      history: { enabled: false },
      ...extra,
    }),
  );
  registries.push(reg);
  return reg;
}

async function seen(reg: Registry, key: string) {
  await waitFor(async () => reg.get("g").hub.get(key) !== undefined && reg.get("g").hub.reachable, { timeoutMs: 15_000, what: `the console to see ${key}` });
  return reg.get("g").hub.get(key)!;
}

/** The audit trail's file answers every write with the kernel's ENOSPC, as a full disk does; the returned function frees it. */
function diskFull(reg: Registry): () => void {
  reg.audit.close();
  const kept = `${reg.audit.file}.kept`;
  renameSync(reg.audit.file, kept);
  symlinkSync("/dev/full", reg.audit.file);
  return () => {
    rmSync(reg.audit.file);
    renameSync(kept, reg.audit.file);
  };
}

const pendingId = (a: ReleaseAnswer) => (a.kind === "pending" ? a.approvalId : "");

beforeAll(async () => {
  server = await startRedis({ notifyKeyspaceEvents: "KA" });
  client = new Redis(server.url);
});
afterAll(async () => {
  for (const reg of registries) {
    reg.reconciler.stop();
    await reg.close();
    reg.audit.close();
  }
  client?.disconnect();
  await server?.stop();
});

describe("two-person approvals (one replica)", () => {
  it("a request whose intent cannot be written (disk full, 503 'nothing was done') is not queued: nobody can approve it", async () => {
    const reg = open({});
    await client.set("ap:full", "tok-full-0123456789", "PX", 60_000);
    const lock = await seen(reg, "ap:full");
    // An earlier request went through; then the disk filled up.
    const earlier = await requestRelease(reg, "g", { key: lock.key, fence: fenceOf(lock), reason: "INC-earlier", mode: "delete" }, cy);
    const free = diskFull(reg);
    const err = await requestRelease(reg, "g", { key: lock.key, fence: fenceOf(lock), reason: "INC-full", mode: "delete" }, ana).catch((e: unknown) => e);
    free();
    const res = toResponse(err);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: "audit_unavailable",
      message: expect.stringMatching(/ENOSPC.*nothing was done/),
    });
    // Nothing to approve but the earlier request: the old code had queued this one too, and an
    // approval released the lock.
    expect((await reg.approvals.list()).map((p) => p.request.reason)).toEqual(["INC-earlier"]);
    expect(await client.get("ap:full")).toBe("tok-full-0123456789");

    // Space is back: the request is written first, then queued under the id its intent names.
    const asked = await requestRelease(reg, "g", { key: lock.key, fence: fenceOf(lock), reason: "INC-full", mode: "delete" }, ana);
    expect((await reg.approvals.list()).map((p) => p.id)).toEqual([pendingId(earlier), pendingId(asked)]);
    expect(reg.audit.read({ key: "ap:full" }).map((e) => [e.phase, e.outcome, e.actor, e.detail])).toEqual([
      ["intent", "pending_approval", "ana", `approval ${pendingId(asked)} needed within 5 min`],
      ["intent", "pending_approval", "cy", `approval ${pendingId(earlier)} needed within 5 min`],
    ]);
    const done = await approveRelease(reg, pendingId(asked), bo);
    expect(done.kind === "done" && done.outcome.status).toBe("released");
  });

  it("an approval given twice, replayed or lost in a race answers 404 and is audited as refused, naming the approval", async () => {
    const reg = open({});
    await client.set("ap:twice", "tok-twice-0123456789", "PX", 60_000);
    const lock = await seen(reg, "ap:twice");
    const asked = await requestRelease(reg, "g", { key: lock.key, fence: fenceOf(lock), reason: "INC-twice", mode: "delete" }, ana);
    const id = pendingId(asked);
    // Three operators at once: one runs it, two lose the race.
    const answers = await Promise.allSettled([bo, cy, di].map((who) => approveRelease(reg, id, who)));
    expect(answers.filter((a) => a.status === "fulfilled")).toHaveLength(1);
    for (const a of answers.filter((a) => a.status === "rejected")) expect((a as PromiseRejectedResult).reason).toMatchObject({ status: 404 });
    expect(await client.exists("ap:twice")).toBe(0);
    // Replayed later by one of them.
    await expect(approveRelease(reg, id, cy)).rejects.toMatchObject({ status: 404, code: "not_found" });
    // And an id that never was.
    await expect(approveRelease(reg, "no-such-approval\u0000", di)).rejects.toMatchObject({ status: 404 });

    const refused = reg.audit.read().filter((e) => e.action === "approve" && e.outcome === "refused");
    const named = refused.filter((e) => e.detail?.startsWith(`approval "${id}": `));
    expect(named).toHaveLength(3);
    // The race's losers are tied to the request (its id, connection and key); the replay is not found at all.
    expect(named.filter((e) => e.requestId === asked.requestId && e.key === "ap:twice" && /taken by another approval/.test(e.detail!))).toHaveLength(2);
    expect(named.find((e) => e.actor === "cy" && /no pending release with that id/.test(e.detail!))).toMatchObject({ phase: "outcome", role: "operator" });
    expect(refused.find((e) => e.actor === "di" && e.detail?.startsWith('approval "no-such-approval\\u0000": no pending release'))).toBeDefined();
    expect(reg.audit.verify()).toBeNull();
  });

  it("a release on a connection that does not exist answers 404 and is audited as refused", async () => {
    const reg = open({});
    await expect(requestRelease(reg, "nope", { key: "ap:x", fence: "f", reason: "INC-nope", mode: "delete" }, ana)).rejects.toMatchObject({
      status: 404,
      message: 'no connection "nope"',
    });
    expect(reg.audit.read({ connection: "nope" })).toEqual([
      expect.objectContaining({
        action: "release",
        phase: "outcome",
        outcome: "refused",
        actor: "ana",
        key: "ap:x",
        reason: "INC-nope",
        detail: 'no connection "nope"',
      }),
    ]);
  });
});

describe("two-person approvals across replicas (PostgreSQL)", () => {
  let pg: PgRig;
  let a: Registry;

  beforeAll(async () => {
    const rig = await startPostgres();
    if (!rig) throw new Error("PostgreSQL binaries are not installed: apt-get install -y postgresql");
    pg = rig;
    // Replica A: ana, bo and cy are operators.
    a = open({ auth: auth({ ana: "operator", bo: "operator", cy: "operator" }), postgres: { url: pg.url, statementTimeoutMs: 1_500 } });
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it("with PostgreSQL too, a request whose intent cannot be written leaves no row to approve", async () => {
    await client.set("ap:pg-full", "tok-pgfull-0123456789", "PX", 60_000);
    const lock = await seen(a, "ap:pg-full");
    await requestRelease(a, "g", { key: lock.key, fence: fenceOf(lock), reason: "INC-earlier", mode: "delete" }, cy);
    const free = diskFull(a);
    const err = await requestRelease(a, "g", { key: lock.key, fence: fenceOf(lock), reason: "INC-pgfull", mode: "delete" }, ana).catch((e: unknown) => e);
    free();
    expect(toResponse(err).status).toBe(503);
    const { rows } = await a.shared!.query<{ n: string }>("SELECT count(*) AS n FROM lockdeck_approvals WHERE request->>'key' = $1", ["ap:pg-full"]);
    expect(Number(rows[0].n)).toBe(1);
    expect((await a.approvals.list()).filter((p) => p.request.key === "ap:pg-full").map((p) => p.request.reason)).toEqual(["INC-earlier"]);
  });

  it("an approval re-reads the requester's role from the config: demoted or removed, the release is refused (403 naming them, audited) and dropped", async () => {
    // B's config (a rolling change): ana is a viewer now, cy an admin. C's: ana is gone.
    const b = open({ auth: auth({ ana: "viewer", bo: "operator", cy: "admin" }), postgres: { url: pg.url, statementTimeoutMs: 1_500 } });
    const c = open({ auth: auth({ bo: "operator" }), postgres: { url: pg.url, statementTimeoutMs: 1_500 } });
    for (const k of ["dem", "rem", "pro"]) await client.set(`ap:${k}`, `tok-${k}-0123456789`, "PX", 60_000);
    const ask = async (key: string, who: Actor) => {
      const lock = await seen(a, key);
      return requestRelease(a, "g", { key, fence: fenceOf(lock), reason: `INC-${key}`, mode: "delete" }, who);
    };

    const dem = await ask("ap:dem", ana);
    // B could run it (it sees the lock, the store answers): only the requester's role stops it.
    await seen(b, "ap:dem");
    await expect(approveRelease(b, pendingId(dem), bo)).rejects.toMatchObject({
      status: 403,
      code: "forbidden",
      message: "ana, who requested this release, is a viewer now and may not release: the request is dropped and nothing was released",
      extra: { field: "requester" },
    });
    expect(await client.get("ap:dem")).toBe("tok-dem-0123456789");
    expect(b.audit.read({ key: "ap:dem" })[0]).toMatchObject({
      action: "approve",
      phase: "outcome",
      outcome: "denied",
      actor: "bo",
      requestId: dem.requestId,
      detail: expect.stringMatching(/^ana, who requested this release, is a viewer now/),
    });
    // Dropped: nobody can approve it afterwards, on any replica (its ana is still an operator on A).
    expect((await a.approvals.list()).map((p) => p.id)).not.toContain(pendingId(dem));
    await expect(approveRelease(a, pendingId(dem), bo)).rejects.toMatchObject({ status: 404 });
    expect(await client.get("ap:dem")).toBe("tok-dem-0123456789");

    const rem = await ask("ap:rem", ana);
    await seen(c, "ap:rem");
    await expect(approveRelease(c, pendingId(rem), bo)).rejects.toMatchObject({
      status: 403,
      message: "ana, who requested this release, is no longer a user in the config: the request is dropped and nothing was released",
    });
    expect(await client.get("ap:rem")).toBe("tok-rem-0123456789");
    expect(c.audit.read({ key: "ap:rem" })[0]).toMatchObject({ action: "approve", outcome: "denied", actor: "bo", requestId: rem.requestId });

    // Still allowed (promoted): it runs, audited with the role the requester has now.
    const pro = await ask("ap:pro", cy);
    await seen(b, "ap:pro");
    const done = await approveRelease(b, pendingId(pro), bo);
    expect(done.kind === "done" && done.outcome.status).toBe("released");
    expect(await client.exists("ap:pro")).toBe(0);
    const lines = b.audit.read({ key: "ap:pro" }).filter((e) => e.action === "release");
    expect(lines.map((e) => [e.phase, e.actor, e.role, e.approvedBy])).toEqual([
      ["outcome", "cy", "admin", "bo"],
      ["intent", "cy", "admin", "bo"],
    ]);
  });

  it("an approval while PostgreSQL is down answers 503 and is audited as refused", async () => {
    await client.set("ap:down", "tok-down-0123456789", "PX", 60_000);
    const lock = await seen(a, "ap:down");
    const asked = await requestRelease(a, "g", { key: lock.key, fence: fenceOf(lock), reason: "INC-down", mode: "delete" }, ana);
    await pg.pause();
    try {
      await expect(approveRelease(a, pendingId(asked), bo)).rejects.toMatchObject({ status: 503, code: "shared_state_unavailable" });
    } finally {
      await pg.start();
    }
    expect(
      a.audit
        .read()
        .find(
          (e) => e.action === "approve" && e.actor === "bo" && e.detail?.startsWith(`approval "${pendingId(asked)}": shared state (PostgreSQL) is unavailable`),
        ),
    ).toMatchObject({ phase: "outcome", outcome: "refused" });
    expect(await client.get("ap:down")).toBe("tok-down-0123456789");
  });
});
