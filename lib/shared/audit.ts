// The audit trails of all replicas, in one append-only table of the shared PostgreSQL.
//
// Each replica still writes its own trail first (lib/audit/log.ts: <dataDir>/audit.jsonl, the
// intent on disk before the store is called, hash-chained); this copies every complete line,
// as written, into lockdeck_audit — before a release is sent (lib/api/release.ts: no release
// without its intent in the shared table either), before every read, and about twice a second
// — so the audit page, its filters and the export show every replica's entries. A trail is named by its first
// entry's id and each line keeps its line number, so a copy is idempotent (re-shipping after a
// restart inserts nothing twice) and each trail's hash chain is checked in the table exactly as
// in its file (the raw text is kept: the hash covers its key order). The table refuses UPDATE
// and DELETE (a trigger), so the copy is append-only too.
//
// The filter columns (connection, key, request_id) hold each value with U+0000 written as the
// six characters \u0000 (PostgreSQL text cannot hold U+0000; the line's text, JSON, already
// has it escaped and is kept exactly); reads filter on the same form and then on the parsed
// line, so a filter answers exactly. A batch that PostgreSQL refuses for its data (not for an
// outage) is copied line by line, and a line it still refuses is stored as a stand-in: its
// text exact, its filter columns cut short and its row id derived from (trail, line). A
// stand-in is reported by problems() and in the server log; it never blocks the lines after it.
// Only confirmed lines are copied (lib/audit/log.ts): not the bytes of a failed write that could
// not be cut off, and not a record the next one chains past.
//
// Lines other than release intents (outcomes, sign-ins) are copied within ~0.5 s: a replica
// whose disk is lost before that loses them from the shared view, as it would without PostgreSQL. PostgreSQL down: reads fall
// back to this replica's own file (`source: "local"`), copying resumes by itself.

import "server-only";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { hashHolds, unconfirmedFrom, type AuditEntry, type AuditFilter, type ChainProblem } from "../audit/log";
import type { SharedDb } from "./db";

const GENESIS = "0".repeat(64);
const SHIP_MS = 500;
const BATCH = 500;
/** A stand-in row's filter columns are cut to this many characters. */
const STAND_IN_CAP = 200;

/** A value as the filter columns hold it: U+0000, which PostgreSQL text refuses, as \u0000. */
export function filterColumn(s: string): string;
export function filterColumn(s: unknown): string | null;
export function filterColumn(s: unknown): string | null {
  return typeof s === "string" ? s.replaceAll("\u0000", "\\u0000") : null;
}

interface Row {
  line: number;
  text: string;
  e: AuditEntry;
}

/** PostgreSQL refused the row's values (data exception, a limit, a constraint), not an outage. */
function refusedData(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^(22|23|54)/.test(code);
}

/** A uuid for a stand-in row, derived from where the line is (so a re-copy conflicts with it). */
function standInId(trail: string, line: number): string {
  const h = createHash("sha256").update(`lockdeck-audit-stand-in\n${trail}\n${line}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class SharedAudit {
  private offset = 0;
  private line = 0;
  private trail: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private shipping: Promise<void> = Promise.resolve();
  private primed = false;

  constructor(
    private readonly db: SharedDb,
    private readonly file: string,
  ) {}

  start(): this {
    this.timer = setInterval(() => void this.ship().catch(() => undefined), SHIP_MS);
    this.timer.unref?.();
    return this;
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    return this.ship().catch(() => undefined);
  }

  /**
   * Copies every line written before this call (copies run one after another, so a line
   * appended while another copy is in flight is in this one). Throws when PostgreSQL fails.
   */
  ship(): Promise<void> {
    const run = this.shipping.catch(() => undefined).then(() => this.copy());
    this.shipping = run;
    return run;
  }

  private async copy(): Promise<void> {
    if (!existsSync(this.file)) return;
    // The bytes of a failed write the log could not cut off yet are not copied.
    const size = Math.min(statSync(this.file).size, unconfirmedFrom(this.file) ?? Infinity);
    if (size <= this.offset) return;
    const fd = openSync(this.file, "r");
    let text: string;
    try {
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      text = buf.toString("utf8");
    } finally {
      closeSync(fd);
    }
    // Only complete lines: the last one may still be being written.
    const end = text.lastIndexOf("\n");
    if (end < 0) return;
    const lines = text.slice(0, end).split("\n");
    const rows: Row[] = [];
    let line = this.line;
    for (const t of lines) {
      line++;
      const e = parse(t);
      if (!e) continue; // a torn line: kept in the file, reported there
      // A record that chains past the one before it: that one was a write that failed (the
      // log reports it), not part of the trail. Both reach the file in one write, so one copy.
      const last = rows.at(-1);
      if (last && e.prev !== last.e.hash && e.prev === last.e.prev && hashHolds(e)) rows.pop();
      this.trail ??= filterColumn(e.id);
      rows.push({ line, text: t, e });
    }
    if (this.trail && !this.primed) {
      // After a restart: what this trail already has in the table is not sent again.
      const { rows: r } = await this.db.query<{ n: number | null }>("SELECT max(line) AS n FROM lockdeck_audit WHERE trail = $1", [this.trail]);
      const shipped = r[0]?.n ?? 0;
      this.primed = true;
      rows.splice(0, rows.filter((x) => x.line <= shipped).length);
    }
    for (let i = 0; i < rows.length; i += BATCH) await this.insert(rows.slice(i, i + BATCH));
    this.offset += Buffer.byteLength(text.slice(0, end + 1), "utf8");
    this.line = line;
  }

  /**
   * Inserts rows in one statement; if PostgreSQL refuses their data, one by one, and a row it
   * still refuses as a stand-in. Throws on anything else (an outage): nothing advances then.
   */
  private async insert(b: Row[], standIn = false): Promise<void> {
    const trail = this.trail!;
    const cut = (s: unknown) => {
      const v = filterColumn(s);
      return standIn && v !== null ? v.slice(0, STAND_IN_CAP) : v;
    };
    const args = [
      trail,
      b.map((x) => x.line),
      b.map((x) => (standIn ? standInId(trail, x.line) : x.e.id)),
      b.map((x) => (standIn ? new Date(Date.parse(x.e.at) || Date.now()).toISOString() : x.e.at)),
      b.map((x) => cut(x.e.connection)),
      b.map((x) => cut(x.e.key)),
      b.map((x) => cut(x.e.requestId)),
      b.map((x) => x.text),
    ];
    // A savepoint keeps PostgreSQL's refusal of the data apart from an outage (which throws).
    const err = await this.db.transaction(async (c) => {
      await c.query("SAVEPOINT copy");
      try {
        await c.query(
          `INSERT INTO lockdeck_audit (trail, line, id, at, connection, key, request_id, text)
           SELECT $1, * FROM unnest($2::int[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[])
           ON CONFLICT DO NOTHING`,
          args,
        );
        return null;
      } catch (e) {
        if (!refusedData(e)) throw e;
        await c.query("ROLLBACK TO SAVEPOINT copy");
        return e as Error & { code: string };
      }
    });
    if (err) {
      if (standIn) throw new Error(`audit line ${b[0].line} of ${this.file} cannot be copied even as a stand-in: ${err.code}: ${err.message}`);
      if (b.length > 1) {
        for (const x of b) await this.insert([x]);
        return;
      }
      const x = b[0];
      const why = `${err.code}: ${err.message}`;
      await this.insert(b, true);
      console.error(
        `lockdeck: audit line ${x.line} of ${this.file} (entry ${x.e.id}) could not be copied into lockdeck_audit as is (${why}); it is stored as a stand-in (text exact, filter columns cut short) and reported on the audit page`,
      );
    }
  }

  /** Every replica's entries, newest first (this replica's latest lines copied first). */
  async read(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    await this.ship();
    const where: string[] = [];
    const args: unknown[] = [];
    // args.push returns the new length: the number of the parameter just added.
    if (filter.connection) where.push(`connection = $${args.push(filterColumn(filter.connection))}`);
    if (filter.key) where.push(`key = $${args.push(filterColumn(filter.key))}`);
    if (filter.requestId) where.push(`request_id = $${args.push(filterColumn(filter.requestId))}`);
    args.push(Math.min(filter.limit ?? 500, 1_000_000));
    const { rows } = await this.db.query<{ text: string }>(
      `SELECT text FROM lockdeck_audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, trail, line DESC LIMIT $${args.length}`,
      args,
    );
    // The columns hold U+0000 as \u0000: the parsed line says whether it is the very value.
    return rows
      .map((r) => JSON.parse(r.text) as AuditEntry)
      .filter(
        (e) =>
          (!filter.connection || e.connection === filter.connection) &&
          (!filter.key || e.key === filter.key) &&
          (!filter.requestId || e.requestId === filter.requestId),
      );
  }

  /**
   * Where a trail does not match its hash chain (the first mismatch of each trail), and every
   * stand-in row (a line PostgreSQL refused as is: its filter columns are cut short).
   */
  async problems(): Promise<ChainProblem[]> {
    const { rows } = await this.db.query<{ trail: string; line: number; id: string; text: string }>(
      "SELECT trail, line, id, text FROM lockdeck_audit ORDER BY trail, line",
    );
    const out: ChainProblem[] = [];
    let trail: string | null = null;
    let prev = GENESIS;
    let broken = false;
    for (const r of rows) {
      if (r.trail !== trail) {
        trail = r.trail;
        prev = GENESIS;
        broken = false;
      }
      const e = JSON.parse(r.text) as AuditEntry;
      if (!broken && (e.prev !== prev || !hashHolds(e))) {
        broken = true;
        out.push({
          line: r.line,
          id: e.id,
          kind: "mismatch",
          message: `entry ${e.id} (line ${r.line} of the trail that starts with ${trail}) does not match the hash chain: lines before it were edited or removed, or it was edited`,
        });
      }
      if (r.id !== String(e.id).toLowerCase()) {
        out.push({
          line: r.line,
          id: e.id,
          kind: "stand-in",
          message: `entry ${e.id} (line ${r.line} of the trail that starts with ${trail}) was refused by PostgreSQL as is and is kept as a stand-in: its text is exact, but its key, connection or request id may be cut short in the table, so a filter may not find it`,
        });
      }
      prev = e.hash;
    }
    return out;
  }
}

function parse(text: string): AuditEntry | null {
  try {
    const e = JSON.parse(text) as AuditEntry;
    return e && typeof e.id === "string" && typeof e.hash === "string" && typeof e.at === "string" ? e : null;
  } catch {
    return null;
  }
}
