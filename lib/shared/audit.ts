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
// Lines other than release intents (outcomes, sign-ins) are copied within ~0.5 s: a replica
// whose disk is lost before that loses them from the shared view, as it would without PostgreSQL. PostgreSQL down: reads fall
// back to this replica's own file (`source: "local"`), copying resumes by itself.

import "server-only";
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import type { AuditEntry, AuditFilter, ChainProblem } from "../audit/log";
import type { SharedDb } from "./db";

const GENESIS = "0".repeat(64);
const SHIP_MS = 500;

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
    const size = statSync(this.file).size;
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
    const rows: Array<{ line: number; text: string; e: AuditEntry }> = [];
    let line = this.line;
    for (const t of lines) {
      line++;
      const e = parse(t);
      if (!e) continue; // a torn line: kept in the file, reported there
      this.trail ??= e.id;
      rows.push({ line, text: t, e });
    }
    if (this.trail && !this.primed) {
      // After a restart: what this trail already has in the table is not sent again.
      const { rows: r } = await this.db.query<{ n: number | null }>("SELECT max(line) AS n FROM lockdeck_audit WHERE trail = $1", [this.trail]);
      const shipped = r[0]?.n ?? 0;
      this.primed = true;
      rows.splice(0, rows.filter((x) => x.line <= shipped).length);
    }
    for (let i = 0; i < rows.length; i += 500) {
      const b = rows.slice(i, i + 500);
      await this.db.query(
        `INSERT INTO lockdeck_audit (trail, line, id, at, connection, key, request_id, text)
         SELECT $1, * FROM unnest($2::int[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[])
         ON CONFLICT DO NOTHING`,
        [
          this.trail,
          b.map((x) => x.line),
          b.map((x) => x.e.id),
          b.map((x) => x.e.at),
          b.map((x) => x.e.connection),
          b.map((x) => x.e.key),
          b.map((x) => x.e.requestId),
          b.map((x) => x.text),
        ],
      );
    }
    this.offset += Buffer.byteLength(text.slice(0, end + 1), "utf8");
    this.line = line;
  }

  /** Every replica's entries, newest first (this replica's latest lines copied first). */
  async read(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    await this.ship();
    const where: string[] = [];
    const args: unknown[] = [];
    // args.push returns the new length: the number of the parameter just added.
    if (filter.connection) where.push(`connection = $${args.push(filter.connection)}`);
    if (filter.key) where.push(`key = $${args.push(filter.key)}`);
    if (filter.requestId) where.push(`request_id = $${args.push(filter.requestId)}`);
    args.push(Math.min(filter.limit ?? 500, 1_000_000));
    const { rows } = await this.db.query<{ text: string }>(
      `SELECT text FROM lockdeck_audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY at DESC, trail, line DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map((r) => JSON.parse(r.text) as AuditEntry);
  }

  /** Where a trail does not match its hash chain: the first mismatch of each trail. */
  async problems(): Promise<ChainProblem[]> {
    const { rows } = await this.db.query<{ trail: string; line: number; text: string }>("SELECT trail, line, text FROM lockdeck_audit ORDER BY trail, line");
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
      const { hash, ...body } = e;
      if (
        !broken &&
        (e.prev !== prev ||
          createHash("sha256")
            .update(e.prev + JSON.stringify(body), "utf8")
            .digest("hex") !== hash)
      ) {
        broken = true;
        out.push({
          line: r.line,
          id: e.id,
          kind: "mismatch",
          message: `entry ${e.id} (line ${r.line} of the trail that starts with ${trail}) does not match the hash chain: lines before it were edited or removed, or it was edited`,
        });
      }
      prev = hash;
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
