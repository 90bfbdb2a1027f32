// The trail as a SIEM gets it (GET /api/audit/export: one jsonLine per entry, oldest first):
// one record per line for any line reader, and the hash chain verifiable from it alone.

import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditLog, jsonLine, type AuditEntry } from "./log";

// What Python's str.splitlines() splits on (besides \n): a reader of that kind.
const SPLITLINES = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

describe("audit lines for line readers", () => {
  it("U+2028, U+2029 and U+0085 are escaped in the file and the export; the chain verifies from the export alone", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ld-audit-export-"));
    const log = new AuditLog(dir);
    const key = "lock:a\u2028b\u2029c\u0085d\u0007\u001b[31m";
    const base = { actor: "ana", role: "operator", connection: "c", format: "redis.token", fence: "f", mode: "delete" };
    log.append({ ...base, requestId: "r1", phase: "intent", key, reason: "sep\u2028in reason" });
    log.append({ ...base, requestId: "r1", phase: "outcome", outcome: "applied", key, reason: "x" });

    // The file itself: two records, two lines, whatever the reader splits on.
    const file = readFileSync(log.file, "utf8");
    expect(file.trimEnd().split(SPLITLINES)).toHaveLength(2);
    expect(file).toContain("\\u2028");
    expect(log.read()[1].key).toBe(key);
    expect(log.verify()).toBeNull();

    // The export: the same.
    const exported = log.entries().map(jsonLine).join("\n") + "\n";
    const lines = exported.trimEnd().split(SPLITLINES);
    expect(lines).toHaveLength(2);
    let prev = "0".repeat(64);
    for (const l of lines) {
      const e = JSON.parse(l) as AuditEntry;
      const { hash, ...body } = e;
      expect(e.prev).toBe(prev);
      expect(
        createHash("sha256")
          .update(e.prev + JSON.stringify(body), "utf8")
          .digest("hex"),
      ).toBe(hash);
      prev = hash;
    }
    expect((JSON.parse(lines[0]) as AuditEntry).key).toBe(key);
  });
});
