// The audit trail: append-only JSON Lines in the data dir, one "intent" before a destructive
// call and one "outcome" after it, linked by requestId. Each line carries the hash of the
// previous line (a hash chain), so an edited or deleted line shows. There is no code path
// that rewrites or removes lines. Untrusted strings (keys, reasons) are length-capped; JSON
// encoding keeps control characters from forging lines.

import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import path from "node:path";

export interface AuditInput {
  /** What was attempted; releases are the destructive action, the rest is access control. */
  action?: "release" | "approve" | "login" | "logout" | "settings";
  requestId: string;
  phase: "intent" | "outcome";
  actor: string;
  role: string;
  connection: string;
  key: string;
  format: string;
  fence: string;
  reason: string;
  mode: string;
  /** applied | precondition_failed | gone | refused | unknown | denied | rate_limited | pending_approval | expired */
  outcome?: string;
  detail?: string;
  /** Two-person rule: who approved this release. */
  approvedBy?: string;
  sourceIp?: string;
  userAgent?: string;
}

export interface AuditEntry extends AuditInput {
  id: string;
  at: string;
  prev: string;
  hash: string;
}

const CAP = 2_000;
const GENESIS = "0".repeat(64);

export class AuditLog {
  private lastHash: string | null = null;
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.resolve(/*turbopackIgnore: true*/ dataDir, "audit.jsonl");
  }

  append(input: AuditInput): AuditEntry {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const prev = this.lastHash ?? this.readLastHash();
    const body = {
      ...capStrings(input),
      id: randomUUID(),
      at: new Date().toISOString(),
      prev,
    };
    const hash = sha256(prev + JSON.stringify(body));
    const entry: AuditEntry = { ...body, hash };
    // Synchronous append: the intent is on disk before the store is called.
    appendFileSync(this.file, JSON.stringify(entry) + "\n", { encoding: "utf8", mode: 0o600 });
    this.lastHash = hash;
    return entry;
  }

  /** Newest first. */
  read(filter: { connection?: string; key?: string; limit?: number } = {}): AuditEntry[] {
    const all = this.readAll().reverse();
    const hits = all.filter((e) => (!filter.connection || e.connection === filter.connection) && (!filter.key || e.key === filter.key));
    return hits.slice(0, filter.limit ?? 500);
  }

  /** Walks the chain; returns the id of the first entry that does not match, or null. */
  verify(): string | null {
    let prev = GENESIS;
    for (const e of this.readAll()) {
      const { hash, ...body } = e;
      if (e.prev !== prev || sha256(prev + JSON.stringify(body)) !== hash) return e.id ?? "(unparsable)";
      prev = hash;
    }
    return null;
  }

  private readAll(): AuditEntry[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEntry);
  }

  private readLastHash(): string {
    const all = this.readAll();
    return all.length ? all[all.length - 1].hash : GENESIS;
  }
}

function sha256(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

function capStrings<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === "string" && v.length > CAP ? v.slice(0, CAP) + "…" : v;
  return out as T;
}
