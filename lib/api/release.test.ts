// The release flow through the registry against a real Redis: read-only connections, the
// two-person rule, rate limits, idempotency, and that every attempt is audited.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { waitFor } from "../../scripts/servers/process";
import { Registry } from "../registry";
import { ConfigSchema } from "../config";
import { approveRelease, requestRelease } from "./release";
import { lockDetail } from "./detail";
import type { Actor } from "../auth/guard";
import { fenceOf } from "../fence";

const ana: Actor = { name: "ana", role: "operator", method: "session" };
const bo: Actor = { name: "bo", role: "operator", method: "session" };

describe("release flow", () => {
  let server: RedisServer;
  let client: Redis;
  let reg: Registry;

  beforeAll(async () => {
    server = await startRedis();
    client = new Redis(server.url);
    reg = new Registry(
      ConfigSchema.parse({
        connections: [
          { id: "plain", kind: "redis", url: server.url, pollIntervalMs: 500, notifications: "off" },
          { id: "guarded", kind: "redis", url: server.url, pollIntervalMs: 500, notifications: "off" },
          { id: "ro", kind: "redis", url: server.url, pollIntervalMs: 500, notifications: "off", readOnly: true },
        ],
        auth: {
          // Signed-in operators: an approval checks the requester's role in the config.
          users: ["ana", "bo"].map((name) => ({ name, role: "operator", passwordHash: "scrypt$131072$8$1$YQ==$YQ==" })),
          releaseRateLimit: { max: 3, perSeconds: 60 },
        },
        twoPersonRule: { connections: ["guarded"], windowMinutes: 5 },
        dataDir: mkdtempSync(path.join(tmpdir(), "ld-rel-")),
      }),
    );
  });
  afterAll(async () => {
    for (const c of reg.connections.values()) await c.hub.stop();
    client.disconnect();
    await server.stop();
  });

  async function seen(conn: string, key: string) {
    await waitFor(async () => reg.get(conn).hub.get(key) !== undefined, { timeoutMs: 5_000, what: `${conn} sees ${key}` });
    return reg.get(conn).hub.get(key)!;
  }

  it("forged and re-aimed fences are refused with 400 naming the field, audited, and nothing is deleted", async () => {
    await client.set("lock:mine", "tok-mine-0123456789", "PX", 60_000);
    await client.set("lock:theirs", "tok-theirs-0123456789", "PX", 60_000);
    await client.set("session:admin", "s3cr3t");
    const mine = await seen("plain", "lock:mine");
    await seen("plain", "lock:theirs");
    const [payload, mac] = fenceOf(mine).split(".");
    const edited = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    edited.k = "session:admin";
    const forged = `${Buffer.from(JSON.stringify(edited)).toString("base64url")}.${mac}`;
    const unsigned = Buffer.from(
      JSON.stringify({ v: 1, c: "plain", k: "session:admin", f: "redis.token", h: { t: "string", v: Buffer.from("s3cr3t").toString("base64") } }),
    ).toString("base64url");
    const attempts: Array<[Record<string, string>, string, RegExp]> = [
      [{ key: "session:admin", fence: forged }, "bad_fence", /^fence: signature/],
      [{ key: "session:admin", fence: unsigned }, "bad_fence", /^fence: /],
      [{ key: "lock:theirs", fence: fenceOf(mine) }, "bad_fence", /^fence: made for another key/],
      [{ key: "lock:mine", fence: fenceOf(mine).replace(/^./, (c) => (c === "e" ? "f" : "e")) }, "bad_fence", /^fence: /],
    ];
    for (const [body, code, message] of attempts) {
      await expect(requestRelease(reg, "plain", { ...body, reason: "attack", mode: "delete" } as never, ana)).rejects.toMatchObject({
        status: 400,
        code,
        message: expect.stringMatching(message),
        extra: { field: "fence" },
      });
    }
    // A genuine fence on another connection of the same store: refused too.
    await expect(requestRelease(reg, "guarded", { key: "lock:mine", fence: fenceOf(mine), reason: "attack", mode: "delete" }, ana)).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/made for connection "plain"/),
    });
    expect(await client.get("session:admin")).toBe("s3cr3t");
    expect(await client.get("lock:mine")).toBe("tok-mine-0123456789");
    expect(await client.get("lock:theirs")).toBe("tok-theirs-0123456789");
    const refused = reg.audit.read({ connection: "plain" }).filter((e) => e.reason === "attack");
    expect(refused).toHaveLength(4);
    for (const e of refused) expect(e).toMatchObject({ phase: "outcome", outcome: "refused", actor: "ana", detail: expect.stringMatching(/^fence: /) });
  });

  it("a read by key outside the connection's patterns answers 400 and reads nothing", async () => {
    await expect(lockDetail(reg.get("plain"), "session:admin")).rejects.toMatchObject({
      status: 400,
      code: "out_of_scope",
      message: expect.stringMatching(/^key: "session:admin"/),
    });
    expect(reg.get("plain").hub.get("session:admin")).toBeUndefined();
  });

  it("a mode the connection's store does not offer is refused with 400 naming mode, audited, and nothing is deleted", async () => {
    await client.set("lock:mode", "tok-mode-0123456789", "PX", 60_000);
    const lock = await seen("plain", "lock:mode");
    for (const mode of ["revoke-lease", "prune-empty", "destroy-session", "ask-holder"] as const) {
      await expect(requestRelease(reg, "plain", { key: lock.key, fence: fenceOf(lock), reason: "wrong mode", mode }, ana)).rejects.toMatchObject({
        status: 400,
        message: expect.stringMatching(new RegExp(`^mode: redis locks are released by delete, not ${mode}`)),
        extra: { field: "mode" },
      });
      expect(reg.audit.read({ connection: "plain" })[0]).toMatchObject({ key: "lock:mode", mode, phase: "outcome", outcome: "refused" });
    }
    expect(await client.get("lock:mode")).toBe("tok-mode-0123456789");
  });

  it("read-only connections refuse and audit the denial", async () => {
    await client.set("lock:ro", "tok-ro-0123456789", "PX", 60_000);
    const lock = await seen("ro", "lock:ro");
    await expect(requestRelease(reg, "ro", { key: lock.key, fence: fenceOf(lock), reason: "try", mode: "delete" }, ana)).rejects.toMatchObject({ status: 403 });
    expect(await client.exists("lock:ro")).toBe(1);
    expect(reg.audit.read({ connection: "ro" })[0]).toMatchObject({ outcome: "denied", actor: "ana" });
  });

  it("two-person rule: held until a different operator approves, then released with the original fence", async () => {
    await client.set("lock:two", "tok-two-0123456789", "PX", 60_000);
    const lock = await seen("guarded", "lock:two");
    const pending = await requestRelease(reg, "guarded", { key: lock.key, fence: fenceOf(lock), reason: "INC-7", mode: "delete" }, ana);
    expect(pending.kind).toBe("pending");
    expect(await client.exists("lock:two")).toBe(1);
    const id = pending.kind === "pending" ? pending.approvalId : "";
    await expect(approveRelease(reg, id, ana)).rejects.toMatchObject({ status: 403 });
    const done = await approveRelease(reg, id, bo);
    expect(done.kind === "done" && done.outcome.status).toBe("released");
    expect(await client.exists("lock:two")).toBe(0);
    await expect(approveRelease(reg, id, bo)).rejects.toMatchObject({ status: 404 });
    const trail = reg.audit.read({ connection: "guarded" });
    expect(trail.find((e) => e.phase === "outcome" && e.action === "release")).toMatchObject({ actor: "ana", approvedBy: "bo", outcome: "applied" });
  });

  it("an approved release still refuses a lock that changed while it waited", async () => {
    await client.set("lock:two-b", "tok-old-0123456789", "PX", 60_000);
    const lock = await seen("guarded", "lock:two-b");
    const pending = await requestRelease(reg, "guarded", { key: lock.key, fence: fenceOf(lock), reason: "INC-8", mode: "delete" }, ana);
    await client.set("lock:two-b", "tok-new-0123456789", "PX", 60_000);
    const done = await approveRelease(reg, pending.kind === "pending" ? pending.approvalId : "", bo);
    expect(done.kind === "done" && done.outcome.status).toBe("changed");
    expect(await client.get("lock:two-b")).toBe("tok-new-0123456789");
  });

  it("a confirmation id is used once: a repeat gets the first answer; releases are rate-limited per operator and audited", async () => {
    await client.set("lock:rl", "tok-rl-0123456789", "PX", 60_000);
    const lock = await seen("plain", "lock:rl");
    const requestId = "6f1c3c43-3b8f-4b7a-9a55-2a7f4c1d2e3f";
    const body = { key: lock.key, fence: fenceOf(lock), reason: "dup", mode: "delete" as const, requestId };
    const first = await requestRelease(reg, "plain", body, bo);
    expect(first.kind === "done" && first.outcome.status).toBe("released");
    // The same confirmation again (a double-click that got out): its answer, nothing sent.
    expect(await requestRelease(reg, "plain", body, bo)).toEqual(first);
    expect(reg.audit.read({ connection: "plain" })[0]).toMatchObject({
      actor: "bo",
      phase: "outcome",
      outcome: "refused",
      detail: expect.stringMatching(/^a repeat of confirmation 6f1c3c43.*nothing was sent/),
    });
    expect(reg.audit.read({ connection: "plain" }).filter((e) => e.requestId === requestId && e.phase === "outcome")).toHaveLength(1);
    // The id by another operator: not a repeat of theirs, refused.
    await expect(requestRelease(reg, "plain", body, ana)).rejects.toMatchObject({ status: 409, code: "duplicate" });
    expect(reg.audit.read({ connection: "plain" })[0]).toMatchObject({
      requestId,
      actor: "ana",
      phase: "outcome",
      outcome: "refused",
      detail: expect.stringMatching(/already used/),
    });
    // The repeat was answered before counting; two more attempts use up bo's 3 per minute.
    // The same holding again (new confirmation, no seenAt): 409, it was released by the first request.
    for (let i = 0; i < 2; i++) {
      const again = await requestRelease(reg, "plain", { ...body, requestId: undefined }, bo);
      expect(again.kind === "done" && again.outcome.status).toBe("changed");
      expect(again.kind === "done" && again.note).toMatch(/already released at \S+ \(request 6f1c3c43.*or after \S+Z: nothing was sent/);
    }
    await expect(requestRelease(reg, "plain", { ...body, requestId: undefined }, bo)).rejects.toMatchObject({ status: 429 });
    expect((await requestRelease(reg, "plain", { ...body, requestId: undefined }, ana)).kind).toBe("done");
    expect(reg.audit.read({ connection: "plain" }).find((e) => e.actor === "bo")).toMatchObject({ outcome: "rate_limited" });
    expect(reg.audit.verify()).toBeNull();
  });
});
