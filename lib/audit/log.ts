// The audit trail: append-only JSON Lines in the data dir, one "intent" before a destructive
// call and one "outcome" after it, linked by requestId. Each line carries the hash of the
// previous record (a hash chain), so an edited or deleted line shows. There is no code path
// that rewrites or removes lines. Untrusted strings (keys, reasons) are length-capped; JSON
// encoding keeps control characters from forging lines.
//
// Durability contract:
// - append() returns only once the record is written AND fsynced; the release flow writes the
//   intent this way before it calls the store, so nothing is done without its intent on disk.
// - A write that fails (disk full, read-only, permissions, or its fsync) throws
//   AuditUnavailableError, leaves lastHash alone and leaves no record: the file is cut back
//   (ftruncate + fsync) to its size before the write, so a line the caller was told "not
//   written" never reads as a record (a full disk that refuses only the newline would otherwise
//   leave a complete-looking intent). If even that cut fails, the bytes are marked unconfirmed
//   in this process: reads and the shared copy stop before them, and every later append first
//   retries the cut and is refused while it fails, so nothing is ever chained after them.
// - On reading, a record counts only once it is confirmed: a last line without its newline was
//   never confirmed (append() writes the newline before its fsync), so it is not an entry
//   however complete it looks; and a record that the next record chains past (the next one's
//   prev is the hash before it: the writer never took it into its chain) was a write that failed
//   and could not be cut, so it is not an entry either. Both are reported as "torn", kept as is.
// - A fragment (torn last line: a crash mid-write) is never glued to: the next record starts
//   with a newline, and chains from the last complete record. The fragment is kept as is and
//   reported by problems() (and so on the audit page) as a break at its line.
// - A complete line whose fsync failed and could not be cut, left by a console that then died,
//   cannot be told from a confirmed one: it reads as a record (an intent with no outcome), and
//   the reconciler settles it from the store, at most as "unknown" (lib/audit/reconcile.ts).
// - Lines are JSON with U+2028, U+2029 and U+0085 escaped too (jsonLine), so a reader that
//   splits lines on those sees one record per line; the hash covers JSON.stringify of the
//   parsed record, which the escape does not change.
// - Reading never throws on a bad line: it is skipped and reported; the console keeps working.

import "server-only";
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
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
  /** torn: not a confirmed record; mismatch: the chain breaks; stand-in: see lib/shared/audit.ts. */
  kind: "torn" | "mismatch" | "stand-in";
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

/**
 * Files (resolved path) that end with the bytes of a write that failed and could not be cut
 * back: where those bytes start, and which file it was (a replaced file is not cut).
 */
interface Unconfirmed {
  from: number;
  dev: number;
  ino: number;
}
const unconfirmed = new Map<string, Unconfirmed>();

/**
 * Where the unconfirmed bytes of a failed write start in `file`, while this process could not
 * cut them off yet; undefined when the whole file is confirmed. Readers stop there.
 */
export function unconfirmedFrom(file: string): number | undefined {
  return unconfirmed.get(path.resolve(/*turbopackIgnore: true*/ file))?.from;
}

/**
 * One record as a line's JSON: JSON.stringify, plus U+2028, U+2029 and U+0085 escaped (JSON
 * allows it; JSON.stringify leaves them raw, and some line readers split on them). Parsing it
 * gives the same record, so JSON.stringify of the parsed record, which the hash covers, is
 * unchanged: a trail exported this way verifies as the file does.
 */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u2028\u2029\u0085]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** True when the record's hash covers its own fields (whatever it chains from). */
export function hashHolds(e: AuditEntry): boolean {
  const { hash, ...body } = e;
  return sha256(e.prev + JSON.stringify(body)) === hash;
}

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
    let fd: number | null = null;
    let before: Unconfirmed | null = null;
    try {
      fd = this.open();
      this.cutUnconfirmed(fd);
      const prev = (this.lastHash ??= this.scan().lastHash);
      const body = { ...capStrings(input), id: randomUUID(), at: new Date().toISOString(), prev };
      const hash = sha256(prev + JSON.stringify(body));
      const entry: AuditEntry = { ...body, hash };
      const st = fstatSync(fd);
      // A torn last line (crash mid-write) stays its own line: start a new one.
      const lead = this.endsMidLine(fd, st.size) ? "\n" : "";
      before = { from: st.size, dev: st.dev, ino: st.ino };
      writeAll(fd, Buffer.from(lead + jsonLine(entry) + "\n", "utf8"));
      fsyncSync(fd);
      this.lastHash = hash;
      this.failure = null;
      return entry;
    } catch (err) {
      // Whatever part of the line reached the file is not a record: cut it off again.
      const kept = fd !== null && before !== null ? this.cutBack(fd, before) : "";
      // Reopen next time: the disk may have been fixed, or the file replaced.
      this.close();
      const e = err as NodeJS.ErrnoException;
      const message = `${e.code ? `${e.code}: ` : ""}${e.message}${kept}`;
      this.failure = { at: new Date().toISOString(), message };
      throw new AuditUnavailableError(`the audit trail ${this.file} cannot be written (${message})`);
    }
  }

  /**
   * Cuts the file back to where a write that failed started and fsyncs; if that fails too,
   * the rest stays marked unconfirmed and it says so (the next append retries the cut).
   */
  private cutBack(fd: number, before: Unconfirmed): string {
    // Marked first: until the cut is done, nothing after `from` is part of the trail.
    unconfirmed.set(this.file, before);
    try {
      if (fstatSync(fd).size > before.from) {
        ftruncateSync(fd, before.from);
        fsyncSync(fd);
      } // else nothing of it reached the file
      unconfirmed.delete(this.file);
      return "";
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return `; what reached the file could not be cut off (${e.code ?? e.message}): it is not a record, and nothing more is written until it is cut`;
    }
  }

  /** Before a new record: the bytes of an earlier failed write must be gone, or nothing is written. */
  private cutUnconfirmed(fd: number): void {
    const u = unconfirmed.get(this.file);
    if (!u) return;
    const st = fstatSync(fd);
    if (st.dev !== u.dev || st.ino !== u.ino || st.size < u.from) {
      // Another file now (replaced), or already cut: nothing of that write is in this one.
      unconfirmed.delete(this.file);
      return;
    }
    try {
      if (st.size > u.from) ftruncateSync(fd, u.from);
      fsyncSync(fd);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw Object.assign(new Error(`an earlier write that failed is still in the file and cannot be cut off: ${e.message}`), { code: e.code });
    }
    unconfirmed.delete(this.file);
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

  private endsMidLine(fd: number, size: number): boolean {
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== NL;
  }

  private scan(): Scan {
    if (!existsSync(this.file)) return { entries: [], problems: [], lastHash: GENESIS };
    if (!statSync(this.file).isFile()) throw new Error(`${this.file} is not a regular file`);
    let raw = readFileSync(this.file);
    // The bytes of a failed write this process could not cut off yet are no part of the trail.
    const from = unconfirmed.get(this.file)?.from;
    const cut = from !== undefined && raw.length > from;
    if (cut) raw = raw.subarray(0, from);
    const text = raw.toString("utf8");
    const lines = text.split("\n");
    // A last line without its newline was never confirmed (the newline precedes the fsync).
    const unterminated = lines.pop() ?? "";
    const entries: AuditEntry[] = [];
    const problems: ChainProblem[] = [];
    let prev = GENESIS;
    // The last entry taken into the chain, and the hash it chained from.
    let tip: { e: AuditEntry; line: number; from: string; ok: boolean } | null = null;
    const torn = (line: number, message: string, id?: string) => problems.push({ line, ...(id ? { id } : {}), kind: "torn", message });
    lines.forEach((t, i) => {
      const line = i + 1;
      if (t === "") return;
      const e = parseEntry(t);
      if (!e) {
        torn(
          line,
          `line ${line} is not a complete record (a write that did not finish: a crash or a full disk); it is kept as is and the chain continues from the record before it`,
        );
        return;
      }
      const holds = hashHolds(e);
      if (tip?.ok && holds && e.prev !== prev && e.prev === tip.from && entries.at(-1) === tip.e) {
        // This record chains past the one before it: its writer never took that one into its
        // chain, i.e. that write failed (its caller was told so) and could not be cut off.
        entries.pop();
        torn(
          tip.line,
          `line ${tip.line} (entry ${tip.e.id}) is a write that failed and could not be removed: the next record chains past it; it is kept as is and is not part of the trail`,
          tip.e.id,
        );
        problems.sort((a, b) => a.line - b.line);
        prev = tip.from;
      }
      const ok = e.prev === prev && holds;
      if (!ok) {
        problems.push({
          line,
          id: e.id,
          kind: "mismatch",
          message: `entry ${e.id} (line ${line}) does not match the hash chain: lines before it were edited or removed, or it was edited`,
        });
      }
      tip = { e, line, from: prev, ok };
      entries.push(e);
      prev = e.hash;
    });
    if (unterminated !== "") {
      const line = lines.length + 1;
      const e = parseEntry(unterminated);
      torn(
        line,
        e
          ? `line ${line} (entry ${e.id}) has no newline: its write never finished or was refused (a crash or a full disk), so it was never confirmed; it is kept as is and is not part of the trail`
          : `line ${line} is not a complete record (a write that did not finish: a crash or a full disk); it is kept as is and the chain continues from the record before it`,
        e?.id,
      );
    }
    if (cut)
      torn(
        lines.length + (unterminated !== "" ? 2 : 1),
        `the bytes from offset ${from} are a write that failed and could not be removed yet; they are not part of the trail`,
      );
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
