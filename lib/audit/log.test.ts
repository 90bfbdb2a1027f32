import { afterAll, describe, expect, it } from "vitest";
import { appendFileSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditLog, type AuditInput } from "./log";
import { tinyFs, type TinyFs } from "../../scripts/servers/tinyfs";

const input = (over: Partial<AuditInput> = {}): AuditInput => ({
  requestId: "r1",
  phase: "intent",
  actor: "ana",
  role: "operator",
  connection: "c",
  key: "lock:a",
  format: "redis.token",
  fence: "f",
  reason: "stuck",
  mode: "delete",
  ...over,
});

describe("audit log", () => {
  it("appends, reads newest first, and survives a restart (new instance, same dir)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ld-audit-"));
    new AuditLog(dir).append(input());
    new AuditLog(dir).append(input({ phase: "outcome", outcome: "applied" }));
    const entries = new AuditLog(dir).read();
    expect(entries.map((e) => e.phase)).toEqual(["outcome", "intent"]);
    expect(entries[0].prev).toBe(entries[1].hash);
    expect(new AuditLog(dir).verify()).toBeNull();
  });

  it("shows an edited line through the hash chain", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ld-audit-"));
    const log = new AuditLog(dir);
    const first = log.append(input());
    log.append(input({ phase: "outcome", outcome: "applied" }));
    writeFileSync(log.file, readFileSync(log.file, "utf8").replace('"reason":"stuck"', '"reason":"innocent"'));
    expect(log.verify()).toBe(first.id);
  });

  it("keeps control characters from forging lines and caps long strings", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ld-audit-"));
    const log = new AuditLog(dir);
    log.append(input({ key: 'evil\n{"phase":"outcome"}', reason: "x".repeat(10_000) }));
    const lines = readFileSync(log.file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(1);
    const e = log.read()[0];
    expect(e.key).toBe('evil\n{"phase":"outcome"}');
    expect(e.reason.length).toBeLessThan(2_100);
  });
});

describe("audit durability", () => {
  const tmp = () => mkdtempSync(path.join(tmpdir(), "ld-audit-"));

  it("a torn last line is kept, reported at its line, and never glued to: the next record starts a new line", () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    const first = log.append(input());
    // What a crash mid-write leaves: the start of a record, no newline.
    const fragment = JSON.stringify({ ...first, requestId: "r2" }).slice(0, 90);
    appendFileSync(log.file, fragment);

    // A console started now (a new instance) reads, verifies and appends without failing.
    const after = new AuditLog(dir);
    expect(after.read().map((e) => e.id)).toEqual([first.id]);
    expect(after.problems()).toEqual([expect.objectContaining({ line: 2, kind: "torn" })]);
    const next = after.append(input({ requestId: "r3", phase: "outcome", outcome: "applied" }));
    const lines = readFileSync(log.file, "utf8").split("\n");
    expect(lines).toEqual([expect.any(String), fragment, JSON.stringify(next), ""]);
    // The chain continues from the last complete record; only the fragment is reported.
    expect(next.prev).toBe(first.hash);
    expect(after.problems().map((p) => [p.line, p.kind])).toEqual([[2, "torn"]]);
    expect(after.verify()).toBe("line 2");
    expect(new AuditLog(dir).read().map((e) => e.requestId)).toEqual(["r3", "r1"]);
  });

  it("an edited record after a torn line is still caught by the chain", () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    log.append(input());
    appendFileSync(log.file, '{"id":"torn');
    const second = log.append(input({ requestId: "r2" }));
    log.append(input({ requestId: "r3" }));
    writeFileSync(log.file, readFileSync(log.file, "utf8").replace('"requestId":"r2"', '"requestId":"r9"'));
    expect(new AuditLog(dir).problems().map((p) => [p.line, p.kind, p.id])).toEqual([
      [2, "torn", undefined],
      [3, "mismatch", second.id],
    ]);
  });

  it("a full disk (the kernel's ENOSPC from /dev/full) refuses the append with a clear error", () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    log.append(input());
    log.close();
    // The file now answers every write with ENOSPC, as a full disk does.
    renameSync(log.file, `${log.file}.old`);
    symlinkSync("/dev/full", log.file);
    expect(() => log.append(input({ requestId: "r2" }))).toThrow(/cannot be written \(ENOSPC/);
    expect(log.unavailable()?.message).toMatch(/ENOSPC/);
    // Reading a non-file is refused, not an endless read of /dev/full.
    expect(() => log.read()).toThrow(/not a regular file/);
  });
});

const fs4k = tinyFs(4096);
describe.runIf(!("unavailable" in fs4k))("audit on a real tiny filesystem (tmpfs)", () => {
  const fsys = fs4k as TinyFs;
  afterAll(() => fsys.unmount());

  it("filling the disk mid-record leaves a torn line; once there is room, the next record starts on a new line", () => {
    const log = new AuditLog(fsys.dir);
    const ok: string[] = [];
    let failure: Error | null = null;
    for (let i = 0; i < 50 && !failure; i++) {
      try {
        ok.push(log.append(input({ requestId: `r${i}`, reason: "disk fills up" })).id);
      } catch (err) {
        failure = err as Error;
      }
    }
    expect(failure?.message).toMatch(/cannot be written \(ENOSPC/);
    // Every record has the same length; the 4 KiB page is not a multiple of it, so the write
    // that crossed its end was cut short by the kernel: a torn line.
    const lineLength = readFileSync(log.file, "utf8").indexOf("\n") + 1;
    expect(4096 % lineLength).not.toBe(0);
    expect(readFileSync(log.file).length).toBe(4096);
    expect(new AuditLog(fsys.dir).problems()).toEqual([expect.objectContaining({ line: ok.length + 1, kind: "torn" })]);

    fsys.resize(64 * 1024);
    const next = log.append(input({ requestId: "after", phase: "outcome", outcome: "applied" }));
    const reread = new AuditLog(fsys.dir);
    expect(reread.read().map((e) => e.id)).toEqual([next.id, ...ok.reverse()]);
    expect(reread.problems().map((p) => p.kind)).toEqual(["torn"]);
    expect(readFileSync(log.file, "utf8").endsWith(JSON.stringify(next) + "\n")).toBe(true);
    log.close();
  });

  it("a read-only filesystem refuses the append (EROFS) and recovers when it is writable again", () => {
    const log = new AuditLog(fsys.dir);
    log.append(input({ requestId: "before" }));
    // Remounting needs no file open for writing; a disk going read-only under a running
    // console (errors=remount-ro) does not wait for that.
    log.close();
    fsys.readOnly();
    try {
      expect(() => log.append(input({ requestId: "ro" }))).toThrow(/cannot be written \(EROFS/);
    } finally {
      fsys.writable();
    }
    log.append(input({ requestId: "rw" }));
    expect(log.unavailable()).toBeNull();
    expect(log.read({ requestId: "ro" })).toEqual([]);
    expect(log.read({ requestId: "rw" })).toHaveLength(1);
  });
});
if ("unavailable" in fs4k) console.warn(`audit tmpfs tests not run: ${fs4k.unavailable}`);
