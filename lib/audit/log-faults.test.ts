// The audit log when the disk fails after the bytes are written: fsync answers EIO (the data
// may or may not be on disk), and even cutting the file back may fail. node:fs is wrapped so
// that fsyncSync / ftruncateSync fail on demand; everything else is the real filesystem.

import { describe, expect, it, vi } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditLog, unconfirmedFrom } from "./log";
import { auditInput } from "../../test/support/audit";

const faults = vi.hoisted(() => ({ fsync: 0, ftruncate: 0 }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const eio = (syscall: string) => Object.assign(new Error(`EIO: i/o error, ${syscall}`), { code: "EIO", errno: -5, syscall });
  const fsyncSync: typeof fs.fsyncSync = (fd) => {
    if (faults.fsync > 0 && faults.fsync--) throw eio("fsync");
    return fs.fsyncSync(fd);
  };
  const ftruncateSync: typeof fs.ftruncateSync = (fd, len) => {
    if (faults.ftruncate > 0 && faults.ftruncate--) throw eio("ftruncate");
    return fs.ftruncateSync(fd, len);
  };
  return { ...fs, default: { ...fs, fsyncSync, ftruncateSync }, fsyncSync, ftruncateSync };
});

const input = auditInput;

describe("audit log when fsync fails after a complete write", () => {
  const tmp = () => mkdtempSync(path.join(tmpdir(), "ld-audit-faults-"));

  it("the written line is cut off again: the caller is told it was not written, no entry is left, and the chain goes on", () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    const first = log.append(input());
    const before = readFileSync(log.file, "utf8");
    faults.fsync = 1;
    expect(() => log.append(input({ requestId: "never-sent" }))).toThrow(/cannot be written \(EIO/);
    expect(readFileSync(log.file, "utf8")).toBe(before);
    expect(new AuditLog(dir).read({ requestId: "never-sent" })).toEqual([]);

    const next = log.append(input({ requestId: "r2" }));
    expect(next.prev).toBe(first.hash);
    expect(new AuditLog(dir).problems()).toEqual([]);
    expect(new AuditLog(dir).entries().map((e) => e.requestId)).toEqual(["r1", "r2"]);
  });

  it("when the cut fails too, the bytes are no record, and nothing is written after them until they are cut", () => {
    const dir = tmp();
    const log = new AuditLog(dir);
    const first = log.append(input());
    const size = readFileSync(log.file).length;
    faults.fsync = 1;
    faults.ftruncate = 1;
    expect(() => log.append(input({ requestId: "never-sent" }))).toThrow(/EIO.*could not be cut off/);
    // The complete line is in the file, but not in the trail: not read, not copied.
    expect(readFileSync(log.file, "utf8")).toMatch(/never-sent.*\n$/);
    expect(unconfirmedFrom(log.file)).toBe(size);
    const reread = new AuditLog(dir);
    expect(reread.entries().map((e) => e.id)).toEqual([first.id]);
    expect(reread.problems()).toEqual([expect.objectContaining({ line: 2, kind: "torn" })]);

    // The disk still refuses the cut: the next record is refused too (never chained after it).
    faults.ftruncate = 1;
    expect(() => log.append(input({ requestId: "r2" }))).toThrow(/earlier write that failed is still in the file/);
    expect(log.unavailable()?.message).toMatch(/EIO/);

    // Once the cut works, the bytes are gone and the chain goes on from the last record.
    const next = log.append(input({ requestId: "r3" }));
    expect(next.prev).toBe(first.hash);
    expect(unconfirmedFrom(log.file)).toBeUndefined();
    expect(readFileSync(log.file, "utf8")).not.toMatch(/never-sent/);
    expect(new AuditLog(dir).problems()).toEqual([]);
    expect(new AuditLog(dir).entries().map((e) => e.requestId)).toEqual(["r1", "r3"]);
  });
});
