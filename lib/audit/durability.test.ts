// The release flow when the audit trail cannot be trusted to be there: an unwritable data dir
// (a read-only filesystem, or the kernel's ENOSPC), and intents left without an outcome by a
// console that died mid-call. Real Redis, real registry; nothing is released without its
// intent on disk, and what happened to an intent nobody saw is found by re-reading the store.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import Redis from "ioredis";
import { mkdtempSync, renameSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRedis, type RedisServer } from "../../scripts/servers/redis";
import { waitFor } from "../../scripts/servers/process";
import { tinyFs } from "../../scripts/servers/tinyfs";
import { openRegistry, closeRegistry } from "../../scripts/servers/registry";
import type { Registry } from "../registry";
import { requestRelease } from "../api/release";
import { toResponse } from "../api/errors";
import { AuditLog } from "./log";
import { secretFromFile } from "../auth/secret";
import type { Actor } from "../auth/guard";
import { fenceOf } from "../fence";

const ana: Actor = { name: "ana", role: "operator", method: "session" };

describe("audit durability in the release flow", () => {
  let server: RedisServer;
  let client: Redis;
  const registries: Registry[] = [];
  const unmounts: Array<() => void> = [];

  beforeAll(async () => {
    server = await startRedis({ notifyKeyspaceEvents: "KA" });
    client = new Redis(server.url);
  });
  afterEach(async () => {
    for (const reg of registries.splice(0)) await closeRegistry(reg);
    for (const unmount of unmounts.splice(0)) unmount();
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  function open(dataDir: string): Registry {
    const reg = openRegistry([{ id: "r", kind: "redis", url: server.url, notifications: "use" }], {
      auth: { releaseRateLimit: { max: 100, perSeconds: 60 } },
      dataDir,
      history: { enabled: true },
    });
    registries.push(reg);
    return reg;
  }

  async function seen(reg: Registry, key: string, value?: string) {
    await waitFor(async () => reg.get("r").hub.get(key) !== undefined && (!value || reg.get("r").hub.get(key)!.holders[0]?.id === value), {
      timeoutMs: 10_000,
      what: `the console to see ${key}${value ? ` held by ${value}` : ""}`,
    });
    return reg.get("r").hub.get(key)!;
  }

  /** A data dir that refuses writes: a read-only tmpfs where possible, else a trail on /dev/full. */
  function unwritableDataDir(): { dir: string; fix(): void; what: string } {
    const fsys = tinyFs(256 * 1024);
    if (!("unavailable" in fsys)) {
      // An earlier start made the server's key file; then the disk went read-only.
      secretFromFile(fsys.dir);
      fsys.readOnly();
      // afterAll() registered inside a test never runs: unmount with the registries instead.
      unmounts.push(() => fsys.unmount());
      return { dir: fsys.dir, fix: () => fsys.writable(), what: "EROFS" };
    }
    const dir = mkdtempSync(path.join(tmpdir(), "ld-full-"));
    const file = path.join(dir, "audit.jsonl");
    symlinkSync("/dev/full", file);
    return { dir, fix: () => renameSync(file, `${file}.full`), what: "ENOSPC" };
  }

  it("an unwritable audit trail: the console starts and the live view carries on, releases are refused and nothing is deleted", async () => {
    const data = unwritableDataDir();
    await client.set("lock:audit-ro", "tok-ro-0123456789", "PX", 60_000);
    const reg = open(data.dir);
    const lock = await seen(reg, "lock:audit-ro");

    const err = await requestRelease(reg, "r", { key: lock.key, fence: fenceOf(lock), reason: "stuck job", mode: "delete" }, ana).catch((e) => e);
    const res = toResponse(err);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("audit_unavailable");
    expect(body.error.message).toMatch(new RegExp(`cannot be written \\(${data.what}.*nothing was sent to the store`));
    expect(await client.get("lock:audit-ro")).toBe("tok-ro-0123456789");

    // The view still follows the store.
    await client.set("lock:audit-ro-2", "tok-ro-2-0123456789", "PX", 60_000);
    await seen(reg, "lock:audit-ro-2");
    expect(reg.get("r").hub.reachable).toBe(true);

    // Once the disk is fixed, the same console releases and audits again, without a restart.
    data.fix();
    const done = await requestRelease(reg, "r", { key: lock.key, fence: fenceOf(lock), reason: "stuck job", mode: "delete" }, ana);
    expect(done.kind === "done" && done.outcome.status).toBe("released");
    expect(await client.exists("lock:audit-ro")).toBe(0);
    expect(reg.audit.read({ key: lock.key }).map((e) => e.phase)).toEqual(["outcome", "intent"]);
  });

  it("intents a dead console left without an outcome are reconciled from the store at the next start, and their ids stay used", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "ld-reconcile-"));
    await client.set("lock:rc-gone", "tok-gone-0123456789", "PX", 60_000);
    await client.set("lock:rc-kept", "tok-kept-0123456789", "PX", 60_000);
    await client.set("lock:rc-unknown", "tok-unknown-0123456789", "PX", 60_000);
    const first = open(dataDir);
    const gone = await seen(first, "lock:rc-gone");
    const kept = await seen(first, "lock:rc-kept");
    const unknown = await seen(first, "lock:rc-unknown");
    const base = (lock: typeof gone, requestId: string) => ({
      action: "release" as const,
      requestId,
      actor: "ana",
      role: "operator",
      connection: "r",
      key: lock.key,
      format: lock.format,
      fence: fenceOf(lock),
      reason: "INC-1",
      mode: "delete",
    });
    // What the release flow writes before it calls the store; then the console "dies".
    const ids = { gone: crypto.randomUUID(), kept: crypto.randomUUID(), unknown: crypto.randomUUID() };
    first.audit.append({ ...base(gone, ids.gone), phase: "intent" });
    first.audit.append({ ...base(kept, ids.kept), phase: "intent" });
    first.audit.append({ ...base(unknown, ids.unknown), phase: "intent" });
    first.audit.append({ ...base(unknown, ids.unknown), phase: "outcome", outcome: "unknown", detail: "no answer after sending" });
    first.reconciler.stop();
    // Two of them are gone from the store (applied, or ended by their holders: it cannot tell); the third never reached it.
    await client.del("lock:rc-gone", "lock:rc-unknown");

    const second = open(dataDir);
    const outcome = (id: string) => second.audit.read({ requestId: id }).find((e) => e.reconciled);
    await waitFor(async () => !!(outcome(ids.gone) && outcome(ids.kept) && outcome(ids.unknown)), { timeoutMs: 15_000, what: "the three outcomes reconciled" });
    // Gone: this release, its holder or its expiry removed it; the store cannot tell which, so
    // the outcome is not guessed (it stays "unknown", settled, with the reason in the detail).
    expect(outcome(ids.gone)).toMatchObject({ phase: "outcome", outcome: "unknown", reconciled: true, actor: "ana", key: "lock:rc-gone" });
    expect(outcome(ids.gone)!.detail).toMatch(/the holding you saw is gone, but who removed it cannot be told/);
    expect(outcome(ids.unknown)).toMatchObject({ outcome: "unknown", reconciled: true });
    expect(outcome(ids.kept)).toMatchObject({ outcome: "not_applied", reconciled: true });
    expect(outcome(ids.kept)!.detail).toMatch(/still there/);
    expect(await client.get("lock:rc-kept")).toBe("tok-kept-0123456789");
    expect(new AuditLog(dataDir).verify()).toBeNull();
    // Settled, the unknown ones too: a later start does not re-read them.
    expect(open(dataDir).reconciler.size()).toBe(0);

    // A confirmation id is used once, also across the restart.
    await expect(
      requestRelease(second, "r", { key: kept.key, fence: fenceOf(kept), reason: "again", mode: "delete", requestId: ids.kept }, ana),
    ).rejects.toMatchObject({ status: 409 });
    expect(await client.get("lock:rc-kept")).toBe("tok-kept-0123456789");
  });
});
