import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditLog, type AuditInput } from "./log";

const input = (over: Partial<AuditInput> = {}): AuditInput => ({
  requestId: "r1", phase: "intent", actor: "ana", role: "operator", connection: "c", key: "lock:a",
  format: "redis.token", fence: "f", reason: "stuck", mode: "delete", ...over,
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
