// A KV list answer (`GET /v1/kv/<p>?recurse`) parsed while its body streams in. Pure.
//
// Consul writes the whole answer only after building it, then the body crosses the socket in
// ~64 KB pieces (a 100k-key answer: ~18 MB, ~270 pieces, 15–50 ms on loopback). Parsing each
// piece's complete entries as it arrives overlaps our parse with that transfer instead of
// starting after the last byte, and never holds the body as one Buffer plus one string. The
// snapshot parses whole entries (parseKv), a watch only keys and indexes (parseKvIndexes).
//
// Contract: write() the body's bytes in order, in pieces cut anywhere (inside a string, an
// escape, a multi-byte UTF-8 character); end() returns every entry, exactly as the parse
// (parseKv by default: Flags exact, the same entry objects' shape) of the whole text would, or
// throws when the text is not one JSON array of objects. Until end() returns, what was parsed is not a result: a read
// that fails midway (reset, abort, too many keys) drops the stream and uses nothing of it.
//
// Splitting, fast path: Consul's compact answer separates entries with "},{". Each piece is
// cut, as bytes, after its last "},{", and the bytes before the cut since the last one are
// decoded once into one flat string, "[" and "]" written around them in a reused buffer, for
// one parse as an array. A byte cut cannot split a character: UTF-8 never uses an ASCII byte
// inside a multi-byte one. (The first version cut decoded text; every piece then cost two more
// copies of itself, when a search and the parse flattened the joined strings: at 100k keys
// ~10–17 ms of a ~90 ms parse, docs/benchmarks.md.) That cut is checked by the parse itself:
// "},{" may also sit inside a key (a string) or inside a nested value, and a cut there leaves a
// string or an object unclosed, which JSON.parse always refuses — so a batch that parses was
// cut between top-level entries. One search per piece, no look at each character. On the first
// refused cut (a key containing "},{", or an answer that is not what it should be) the rest of
// the body goes through the exact splitter: it tracks strings (quotes, backslash escapes,
// skipped with indexOf) and nesting depth, and hands every piece's complete entries to the
// parse; slower (~40% at 100k keys), never wrong, and never a second parse of a failed text
// beyond that one refused batch.

import { StringDecoder } from "node:string_decoder";
import { parseKv, type ConsulEntry } from "./entry";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Where the exact splitter is between entries (depth ≤ 1). */
const enum Top {
  /** before the array's "[" */
  Start,
  /** after "[": an entry or "]" */
  First,
  /** after an entry: "," or "]" */
  AfterEntry,
  /** after ",": an entry */
  Next,
  /** after "]": only whitespace */
  Done,
}

/** "},{" as bytes: between two entries of a compact answer. */
const SEPARATOR = Buffer.from("},{");

export class KvListStream<T = ConsulEntry> {
  /** Fast path: the bytes since the last cut, in the pieces they came in. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Fast path: where a batch's text is assembled before its one decode (reused, grown as needed). */
  private scratch = Buffer.alloc(0);
  /** Fast path: nothing was cut yet (the text still starts before the array's "["). */
  private first = true;
  /** Exact splitter from here on (a cut was refused), decoding the pieces as they come. */
  private decoder: StringDecoder | null = null;
  /** Exact splitter: text not yet parsed, the unfinished entry (from its "{") and what follows. */
  private text = "";
  /** Where the scan resumes in `text`. */
  private at = 0;
  private depth = 0;
  private inString = false;
  private top = Top.Start;
  /** Start of the first unparsed entry in `text` (-1: none begun). */
  private from = -1;
  private readonly entries: T[] = [];
  private readonly parse: (json: string) => T[];
  private readonly maxEntries: number;
  private readonly tooMany: (max: number) => Error;

  /**
   * `parse`: what a batch (a JSON array of whole entries) becomes, parseKv by default (a watch
   * wants only keys and indexes); more than `maxEntries` entries throws `tooMany` (the rest is
   * not parsed).
   */
  constructor(o: { parse?: (json: string) => T[]; maxEntries?: number; tooMany?: (max: number) => Error } = {}) {
    this.parse = o.parse ?? (parseKv as unknown as (json: string) => T[]);
    this.maxEntries = o.maxEntries ?? Infinity;
    this.tooMany = o.tooMany ?? ((max) => new Error(`more than ${max} KV entries`));
  }

  /** Which splitter is at work: "exact" once a fast cut was refused (tests, diagnostics). */
  get splitter(): "fast" | "exact" {
    return this.decoder ? "exact" : "fast";
  }

  write(chunk: Buffer): void {
    if (this.decoder) {
      const piece = this.decoder.write(chunk);
      if (piece) this.scan(piece);
      return;
    }
    if (!chunk.length) return;
    // The last "},{" is in this piece, or straddles the carry's end and the piece's start.
    const at = chunk.lastIndexOf(SEPARATOR);
    let head: number; // bytes of this piece up to the cut (the separator's "}" included)
    let dropped = 0; // bytes at the carry's end after the cut (its "," when "}," ends it)
    if (at >= 0) head = at + 1;
    else if (this.fromEnd(1) === CLOSE_BRACE && chunk[0] === COMMA && chunk[1] === OPEN_BRACE) head = 0;
    else if (this.fromEnd(2) === CLOSE_BRACE && this.fromEnd(1) === COMMA && chunk[0] === OPEN_BRACE) [head, dropped] = [0, 1];
    else {
      this.keep(chunk);
      return;
    }
    let batch: T[];
    try {
      batch = this.parse(this.assemble(this.carryBytes - dropped, chunk, head, true));
    } catch {
      this.keep(chunk);
      this.toExact();
      return;
    }
    this.add(batch);
    this.first = false;
    const rest = chunk.subarray(dropped ? 0 : head + 1); // from the next entry's "{"
    this.carry = rest.length ? [rest] : [];
    this.carryBytes = rest.length;
  }

  end(): T[] {
    if (this.decoder) {
      const rest = this.decoder.end();
      if (rest) this.scan(rest);
      if (this.top !== Top.Done) throw new Error(this.top === Top.Start ? "KV answer is not a JSON array" : "KV answer ended inside the array");
      return this.entries;
    }
    // The last entries and the closing "]": JSON.parse checks the array closes and nothing follows.
    const text = this.assemble(this.carryBytes, null, 0, false);
    this.carry = [];
    this.carryBytes = 0;
    this.add(this.parse(text));
    return this.entries;
  }

  /** The carry's k-th byte from its end (1: the last), or -1. */
  private fromEnd(k: number): number {
    for (let i = this.carry.length - 1; i >= 0; i--) {
      const b = this.carry[i];
      if (k <= b.length) return b[b.length - k];
      k -= b.length;
    }
    return -1;
  }

  private keep(chunk: Buffer): void {
    this.carry.push(chunk);
    this.carryBytes += chunk.length;
  }

  /**
   * One batch's text, decoded once: "[" unless the body's own is in it, the carry's first
   * `fromCarry` bytes, `piece`'s first `head` bytes, and "]" when `close`.
   */
  private assemble(fromCarry: number, piece: Buffer | null, head: number, close: boolean): string {
    const open = this.first ? 0 : 1;
    const size = open + fromCarry + head + (close ? 1 : 0);
    if (this.scratch.length < size) this.scratch = Buffer.allocUnsafe(Math.max(size, 2 * this.scratch.length));
    const out = this.scratch;
    let p = 0;
    if (open) out[p++] = OPEN_BRACKET;
    for (const b of this.carry) {
      const n = Math.min(b.length, fromCarry - (p - open));
      if (n <= 0) break;
      p += b.copy(out, p, 0, n);
    }
    if (piece && head) p += piece.copy(out, p, 0, head);
    if (close) out[p++] = CLOSE_BRACKET;
    return out.toString("utf8", 0, p);
  }

  /** The exact splitter takes over at the last cut, from the carry (before it: "[" not seen yet, or a ","). */
  private toExact(): void {
    this.decoder = new StringDecoder("utf8");
    const text = this.decoder.write(Buffer.concat(this.carry, this.carryBytes));
    this.carry = [];
    this.carryBytes = 0;
    this.scratch = Buffer.alloc(0);
    if (!this.first) {
      this.depth = 1;
      this.top = Top.Next;
    }
    if (text) this.scan(text);
  }

  private add(batch: T[]): void {
    if (this.entries.length + batch.length > this.maxEntries) throw this.tooMany(this.maxEntries);
    for (let k = 0; k < batch.length; k++) this.entries.push(batch[k]);
  }

  /** The exact splitter: every entry's end found by tracking strings and depth. */
  private scan(piece: string): void {
    // The unfinished entry stays in `text`, so a backslash run before a quote is always whole.
    const s = this.text.length ? this.text + piece : piece;
    const n = s.length;
    let i = this.at;
    let depth = this.depth;
    let inString = this.inString;
    let from = this.from;
    let last = -1; // end (exclusive) of the last complete entry in s
    let open = -1; // start of the last entry begun in s
    while (i < n) {
      if (inString) {
        const q = s.indexOf('"', i);
        if (q < 0) {
          i = n;
          break;
        }
        let b = q - 1;
        while (s.charCodeAt(b) === BACKSLASH) b--;
        i = q + 1;
        if ((q - 1 - b) % 2 === 0) inString = false;
        continue;
      }
      const c = s.charCodeAt(i);
      if (depth >= 2) {
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (--depth === 1) {
            last = i + 1;
            this.top = Top.AfterEntry;
          }
        }
        i++;
        continue;
      }
      i++;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (depth === 0 && this.top === Top.Start && c === OPEN_BRACKET) {
        depth = 1;
        this.top = Top.First;
      } else if (depth === 1 && c === OPEN_BRACE && (this.top === Top.First || this.top === Top.Next)) {
        depth = 2;
        open = i - 1;
        if (from < 0) from = open;
      } else if (depth === 1 && c === COMMA && this.top === Top.AfterEntry) {
        this.top = Top.Next;
      } else if (depth === 1 && c === CLOSE_BRACKET && (this.top === Top.First || this.top === Top.AfterEntry)) {
        depth = 0;
        this.top = Top.Done;
      } else {
        throw new Error(`KV answer is not a JSON array of objects (unexpected ${JSON.stringify(String.fromCharCode(c))})`);
      }
    }
    if (last > 0) {
      this.take(s, from, last);
      // The tail: the next entry's beginning (or separators), rebased to 0.
      this.text = s.slice(last);
      from = depth >= 2 ? open - last : -1;
      i -= last;
    } else this.text = s;
    this.at = i;
    this.depth = depth;
    this.inString = inString;
    this.from = from;
  }

  /** Parses the complete entries s[from, end) (from an entry's "{" to one's "}"). */
  private take(s: string, from: number, end: number): void {
    this.add(this.parse(`[${s.slice(from, end)}]`));
  }
}
