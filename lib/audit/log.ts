// The audit trail: append-only JSON Lines in the data dir, one "intent" before a destructive
// call and one "outcome" after it, linked by requestId. Each line carries the hash of the
// previous record (a hash chain), so an edited or deleted line shows. There is no code path
// that rewrites or removes lines. Untrusted strings (keys, reasons) are length-capped; JSON
// encoding keeps control characters from forging lines.
//
// Durability contract:
// - append() returns only once the record is written AND fsynced; the release flow writes the
//   intent this way before it calls the store, so nothing is done without its intent on disk.
// - A write that fails (disk full, read-only, permissions) throws AuditUnavailableError and
//   leaves lastHash alone; whatever part of the line reached the disk stays there as a fragment.
// - A fragment (torn last line: a crash or a full disk mid-write) is never glued to: the next
//   record starts with a newline, and chains from the last complete record. The fragment is
//   kept as is and reported by problems() (and so on the audit page) as a break at its line.
// - Reading never throws on a bad line: it is skipped and reported; the console keeps working.

import "server-only";
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
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
  /**
   * applied | precondition_failed | gone | refused | unknown | not_applied | denied |
   * rate_limited | pending_approval | expired
   */
  outcome?: string;
  detail?: string;
  /** Set on an outcome found afterwards by re-reading the store (an unknown outcome, or a crash). */
  reconciled?: boolean;
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

/** A place where the file does not read as an unbroken chain of complete records. */
export interface ChainProblem {
  /** 1-based line number in audit.jsonl. */
  line: number;
  /** The entry's id when the line parses. */
  id?: string;
  kind: "torn" | "mismatch";
  message: string;
}

export interface AuditFilter {
  connection?: string;
  key?: string;
  requestId?: string;
  limit?: number;
}

/** The audit trail cannot be written: the action that needed it must not go ahead. */
export class AuditUnavailableError extends Error {
  override readonly name = "AuditUnavailableError";
}

const CAP = 2_000;
const GENESIS = "0".repeat(64);
const NL = 0x0a;

interface Scan {
  entries: AuditEntry[];
  problems: ChainProblem[];
  /** Hash of the last complete record: what the next record chains from. */
  lastHash: string;
}

export class AuditLog {
  readonly file: string;
  private fd: number | null = null;
  private lastHash: string | null = null;
  /** The last write failure, until a write succeeds again. */
  private failure: { at: string; message: string } | null = null;

  constructor(dataDir: string) {
    this.file = path.resolve(/*turbopackIgnore: true*/ dataDir, "audit.jsonl");
  }

  /** Null while records can be written; else when and why the last write failed. */
  unavailable(): { at: string; message: string } | null {
    return this.failure;
  }

  /** Writes one record and fsyncs it; throws AuditUnavailableError if it is not on disk. */
  append(input: AuditInput): AuditEntry {
    try {
      const fd = this.open();
      const prev = (this.lastHash ??= this.scan().lastHash);
      const body = { ...capStrings(input), id: randomUUID(), at: new Date().toISOString(), prev };
      const hash = sha256(prev + JSON.stringify(body));
      const entry: AuditEntry = { ...body, hash };
      // A torn last line (crash or full disk mid-write) stays its own line: start a new one.
      const lead = this.endsMidLine(fd) ? "\n" : "";
      writeAll(fd, Buffer.from(lead + JSON.stringify(entry) + "\n", "utf8"));
      fsyncSync(fd);
      this.lastHash = hash;
      this.failure = null;
      return entry;
    } catch (err) {
      // Reopen next time: the disk may have been fixed, or the file replaced.
      this.close();
      const e = err as NodeJS.ErrnoException;
      const message = `${e.code ? `${e.code}: ` : ""}${e.message}`;
      this.failure = { at: new Date().toISOString(), message };
      throw new AuditUnavailableError(`the audit trail ${this.file} cannot be written (${message})`);
    }
  }

  /** Newest first. Bad lines are skipped here and reported by problems(). */
  read(filter: AuditFilter = {}): AuditEntry[] {
    return this.view(filter).entries;
  }

  /** One read of the file: matching entries (newest first) and every problem in it. */
  view(filter: AuditFilter = {}): { entries: AuditEntry[]; problems: ChainProblem[] } {
    const { entries, problems } = this.scan();
    const hits = entries
      .reverse()
      .filter(
        (e) =>
          (!filter.connection || e.connection === filter.connection) &&
          (!filter.key || e.key === filter.key) &&
          (!filter.requestId || e.requestId === filter.requestId),
      );
    return { entries: hits.slice(0, filter.limit ?? 500), problems };
  }

  /** Every entry, oldest first (for start-up checks: used request ids, outcomes to reconcile). */
  entries(): AuditEntry[] {
    return this.scan().entries;
  }

  /** Every torn line and chain mismatch, in file order. */
  problems(): ChainProblem[] {
    return this.scan().problems;
  }

  /** The first problem as one label (entry id, or "line N" for a torn line), or null. */
  verify(): string | null {
    const p = this.problems()[0];
    return p ? (p.id ?? `line ${p.line}`) : null;
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already unusable
    }
    this.fd = null;
  }

  private open(): number {
    if (this.fd !== null) return this.fd;
    const dir = path.dirname(this.file);
    mkdirSync(dir, { recursive: true });
    const created = !existsSync(this.file);
    // a+: appends always go to the end (O_APPEND), and the last byte can be read back.
    this.fd = openSync(this.file, "a+", 0o600);
    if (created) syncDir(dir);
    return this.fd;
  }

  private endsMidLine(fd: number): boolean {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== NL;
  }

  private scan(): Scan {
    if (!existsSync(this.file)) return { entries: [], problems: [], lastHash: GENESIS };
    if (!statSync(this.file).isFile()) throw new Error(`${this.file} is not a regular file`);
    const lines = readFileSync(this.file, "utf8").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    const entries: AuditEntry[] = [];
    const problems: ChainProblem[] = [];
    let prev = GENESIS;
    lines.forEach((text, i) => {
      const line = i + 1;
      if (text === "") return;
      const e = parseEntry(text);
      if (!e) {
        problems.push({
          line,
          kind: "torn",
          message: `line ${line} is not a complete record (a write that did not finish: a crash or a full disk); it is kept as is and the chain continues from the record before it`,
        });
        return;
      }
      const { hash, ...body } = e;
      if (e.prev !== prev || sha256(e.prev + JSON.stringify(body)) !== hash) {
        problems.push({
          line,
          id: e.id,
          kind: "mismatch",
          message: `entry ${e.id} (line ${line}) does not match the hash chain: lines before it were edited or removed, or it was edited`,
        });
      }
      entries.push(e);
      prev = hash;
    });
    return { entries, problems, lastHash: prev };
  }
}

function parseEntry(text: string): AuditEntry | null {
  try {
    const e = JSON.parse(text) as AuditEntry;
    if (!e || typeof e !== "object" || typeof e.hash !== "string" || typeof e.prev !== "string" || typeof e.id !== "string") return null;
    return e;
  } catch {
    return null;
  }
}

/** write(2) may write less than asked (a filling disk): keep going until all is written or it fails. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** A new file's directory entry must reach the disk too, or a crash can lose the whole file. */
function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own fsync still holds its data.
  } finally {
    if (fd !== null) closeSync(fd);
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
