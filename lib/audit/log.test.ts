import { afterAll, afterEach, describe, expect, it } from "vitest";
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditLog } from "./log";
import { Reconciler } from "./reconcile";
import { tinyFs, type TinyFs } from "../../scripts/servers/tinyfs";
import { appendUnconfirmed, auditInput } from "../../test/support/audit";

const input = auditInput;

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

  it("a complete record without its newline (a write refused before its newline that could not be cut, then a restart) is no entry: not reconciled, and the chain goes past it without a mismatch", () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    const first = log.append(input({ requestId: "r1", phase: "outcome", outcome: "applied" }));
    // The record the failed write would have been, all of it but the newline.
    const phantom = appendUnconfirmed(log.file, first, input({ requestId: "never-sent" }));

    const after = new AuditLog(dir);
    expect(after.entries().map((e) => e.id)).toEqual([first.id]);
    expect(after.problems()).toEqual([expect.objectContaining({ line: 2, id: phantom.id, kind: "torn", message: expect.stringMatching(/no newline/) })]);
    const reconciler = new Reconciler(after, () => undefined);
    reconciler.load(after.entries());
    expect(reconciler.isPending("never-sent")).toBe(false);

    const next = after.append(input({ requestId: "r3" }));
    expect(next.prev).toBe(first.hash);
    // Now the phantom has a newline after it; the record after it chains past it: still no entry.
    const again = new AuditLog(dir);
    expect(again.entries().map((e) => e.id)).toEqual([first.id, next.id]);
    expect(again.problems()).toEqual([expect.objectContaining({ line: 2, id: phantom.id, kind: "torn", message: expect.stringMatching(/chains past it/) })]);
    const reconciler2 = new Reconciler(again, () => undefined);
    reconciler2.load(again.entries());
    expect([reconciler2.isPending("never-sent"), reconciler2.isPending("r3")]).toEqual([false, true]);
    reconciler.stop();
    reconciler2.stop();
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
  // Each test starts on an empty 4 KiB filesystem, also after one that failed.
  afterEach(() => {
    rmSync(path.join(fsys.dir, "audit.jsonl"), { force: true });
    fsys.resize(4096);
  });

  it("filling the disk mid-record leaves no trace of the refused record; once there is room, the chain goes on", () => {
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
    // that crossed its end was cut short by the kernel; the log cut the file back after it.
    const lineLength = readFileSync(log.file, "utf8").indexOf("\n") + 1;
    expect(4096 % lineLength).not.toBe(0);
    expect(readFileSync(log.file).length).toBe(ok.length * lineLength);
    expect(new AuditLog(fsys.dir).problems()).toEqual([]);

    fsys.resize(64 * 1024);
    const next = log.append(input({ requestId: "after", phase: "outcome", outcome: "applied" }));
    const reread = new AuditLog(fsys.dir);
    expect(reread.read().map((e) => e.id)).toEqual([next.id, ...ok.reverse()]);
    expect(reread.problems()).toEqual([]);
    expect(readFileSync(log.file, "utf8").endsWith(JSON.stringify(next) + "\n")).toBe(true);
    log.close();
  });

  it("a full disk that takes all of a record but its newline: the refused record is cut off, never read, and the chain goes on without a mismatch", () => {
    const log = new AuditLog(fsys.dir);
    // Records with the same field lengths have the same length: measure one.
    const ok = [log.append(input({ requestId: "r0", reason: "a" }))];
    const unit = readFileSync(log.file).length;
    let size = unit;
    // Fill the 4 KiB page until the room left is less than a record with the longest reason.
    while (4096 - size > 1_500) {
      ok.push(log.append(input({ requestId: `r${ok.length}`, reason: "a" })));
      size += unit;
    }
    expect(readFileSync(log.file).length).toBe(size);
    const room = 4096 - size;
    // A record whose JSON is exactly `room` bytes: everything but its newline fits.
    const full = input({ requestId: "r-full", reason: "a".repeat(1 + room + 1 - unit) });
    expect(() => log.append(full)).toThrow(/cannot be written \(ENOSPC/);
    // Nothing of it is left: the file is as it was, no entry, no problem.
    expect(readFileSync(log.file).length).toBe(size);
    expect(readFileSync(log.file, "utf8").endsWith("\n")).toBe(true);
    const reread = new AuditLog(fsys.dir);
    expect(reread.read({ requestId: "r-full" })).toEqual([]);
    expect(reread.problems()).toEqual([]);

    fsys.resize(64 * 1024);
    const next = log.append(input({ requestId: "after" }));
    expect(next.prev).toBe(ok.at(-1)!.hash);
    expect(new AuditLog(fsys.dir).problems()).toEqual([]);
    expect(new AuditLog(fsys.dir).verify()).toBeNull();
    expect(new AuditLog(fsys.dir).entries().map((e) => e.requestId)).toEqual([...ok.map((e) => e.requestId), "after"]);
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
