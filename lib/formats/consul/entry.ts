// What the Consul adapter reads (KV entries and sessions, in Consul's own JSON shapes) and
// what the Consul decoders consume. Pure.
//
// Flags is a uint64 and the lock libraries use values above 2^53 (api.Lock 0x2ddccbc058a50c18,
// api.Semaphore 0xe0f69a2baa414de0), which JSON.parse would round. parseKv() therefore takes
// every Flags as its exact decimal digits from the answer's text; flags are compared as strings.

/** api.LockFlagValue (api/lock.go), decimal. */
export const LOCK_FLAGS = BigInt("0x2ddccbc058a50c18").toString(); // 3304740253564472344
/** api.SemaphoreFlagValue (api/semaphore.go), decimal. */
export const SEMAPHORE_FLAGS = BigInt("0xe0f69a2baa414de0").toString(); // 16210313421097356768
/** api.DefaultSemaphoreKey, also the `consul lock` CLI's key under its prefix. */
export const DOT_LOCK = ".lock";
const SLASH_DOT_LOCK = "/" + DOT_LOCK;

export interface ConsulEntry {
  Key: string;
  /** uint64 as a decimal string (see above). */
  Flags: string;
  /** base64, or null for an empty value */
  Value: string | null;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface ConsulSession {
  ID: string;
  Name?: string;
  Node?: string;
  /** nanoseconds */
  LockDelay?: number;
  Behavior?: string;
  /** the configured TTL, e.g. "15s"; "" when none. Consul never reports the time left. */
  TTL?: string;
  NodeChecks?: string[] | null;
  ServiceChecks?: Array<{ ID: string; Namespace?: string }> | null;
  /** Before Consul 1.7 the node checks were in Checks. */
  Checks?: string[] | null;
  CreateIndex?: number;
  ModifyIndex?: number;
}

/** Every "Flags": <digits> becomes a string. Keys are JSON strings, so their quotes are escaped and never match. */
export function flagsAsStrings(json: string): string {
  return json.replace(/([{,]\s*)"Flags"\s*:\s*(\d+)/g, '$1"Flags":"$2"');
}

/**
 * Parses a KV list answer (`GET /v1/kv/<p>?recurse` or one key) without rounding Flags.
 * JSON.parse does the work, as a plain client's read would; each entry's exact Flags digits are
 * then found in the text in order (every entry has exactly one Flags and JSON keeps order) and
 * checked against the parsed number. Anything the scan cannot pair exactly (a reformatted
 * answer, whitespace, a missing Flags) is parsed again with every Flags rewritten as a string
 * first: slower, never rounded.
 */
export function parseKv(json: string): ConsulEntry[] {
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed)) throw new Error("KV answer is not a JSON array");
  let end = 0;
  for (let i = 0; i < parsed.length; i++) {
    const raw = parsed[i] as Record<string, unknown> | null;
    const at = nextFlags(json, end);
    if (at < 0) return parseKvSlowly(json);
    const start = at + FLAGS_MEMBER.length;
    const flags = exactFlags(json, start, raw?.Flags);
    if (flags === null) return parseKvSlowly(json);
    end = start + flags.length;
    normaliseEntry(raw, flags);
  }
  return nextFlags(json, end) < 0 ? (parsed as ConsulEntry[]) : parseKvSlowly(json);
}

/** Every Flags rewritten as a string before parsing: any layout of the answer, one more copy of it. */
function parseKvSlowly(json: string): ConsulEntry[] {
  return (JSON.parse(flagsAsStrings(json)) as unknown[]).map((e) => normaliseEntry(e));
}

const FLAGS_MEMBER = '"Flags":';
/**
 * The member name searched for without its opening quote: indexOf looks for a pattern's first
 * character and then compares, and '"' comes every few characters in a KV answer while 'F' is
 * rare (100k entries: 12 ms with the quote, under 2 ms without).
 */
const FLAGS_NAME = FLAGS_MEMBER.slice(1);
const LOCK_NUMBER = Number(LOCK_FLAGS);
const SEMAPHORE_NUMBER = Number(SEMAPHORE_FLAGS);

/** Where the next compact `"Flags":` member starts at or after `from` (a member name: after "{" or ","), or -1. */
function nextFlags(json: string, from: number): number {
  for (let at = json.indexOf(FLAGS_NAME, from + 1); at >= 0; at = json.indexOf(FLAGS_NAME, at + 1)) {
    if (json.charCodeAt(at - 1) !== 0x22) continue;
    const before = json.charCodeAt(at - 2);
    if (before === 0x7b || before === 0x2c) return at - 1;
  }
  return -1;
}

/**
 * The Flags digits that start at json[start] when they are the number JSON.parse made of this
 * entry's Flags (`parsed`); null when they do not pair. The library values come back as the
 * shared constants without a substring (the decoders' comparisons of 100k flags are then
 * pointer checks).
 */
function exactFlags(json: string, start: number, parsed: unknown): string | null {
  if (typeof parsed !== "number") return null;
  let digits: string;
  if (parsed === LOCK_NUMBER && json.startsWith(LOCK_FLAGS, start)) digits = LOCK_FLAGS;
  else if (parsed === SEMAPHORE_NUMBER && json.startsWith(SEMAPHORE_FLAGS, start)) digits = SEMAPHORE_FLAGS;
  else if (Number.isSafeInteger(parsed)) {
    digits = String(parsed);
    if (!json.startsWith(digits, start)) return null;
  } else {
    let end = start;
    for (let c = json.charCodeAt(end); c >= 0x30 && c <= 0x39; c = json.charCodeAt(++end));
    digits = json.slice(start, end);
    if (end === start || Number(digits) !== parsed) return null;
  }
  return digits;
}

/** Only Key and ModifyIndex (what a watch compares), without the Flags pass. */
export function parseKvIndexes(json: string): Array<{ Key: string; ModifyIndex: number }> {
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed)) throw new Error("KV answer is not a JSON array");
  return parsed as Array<{ Key: string; ModifyIndex: number }>;
}

/**
 * The parsed entry itself, normalised in place: no copy of 100k objects, and the entries the
 * adapter keeps hold JSON.parse's hidden classes alive, so the code that reads the next answer
 * stays optimised across a major GC (a copy let them die: every snapshot after one ran
 * de-optimised, 10k keys: 5 → 15 ms). Fields Consul may add are kept as they are.
 */
function normaliseEntry(raw: unknown, flags?: string): ConsulEntry {
  const e = raw as Record<string, unknown>;
  if (typeof e?.Key !== "string") throw new Error("KV entry without a Key");
  e.Flags = flags ?? (typeof e.Flags === "string" ? e.Flags : String(e.Flags ?? 0));
  if (typeof e.Value !== "string") e.Value = null;
  if (typeof e.Session !== "string" || !e.Session) e.Session = undefined;
  if (typeof e.LockIndex !== "number") e.LockIndex = Number(e.LockIndex ?? 0);
  if (typeof e.CreateIndex !== "number") e.CreateIndex = Number(e.CreateIndex ?? 0);
  if (typeof e.ModifyIndex !== "number") e.ModifyIndex = Number(e.ModifyIndex ?? 0);
  return e as unknown as ConsulEntry;
}

/** Value bytes (empty when Consul stored none). */
export function valueBytes(e: ConsulEntry): Buffer {
  return e.Value ? Buffer.from(e.Value, "base64") : Buffer.alloc(0);
}

/** Node health checks a session is bound to (Consul 1.7+ NodeChecks, older Checks). */
export function nodeChecks(s: ConsulSession): string[] {
  return s.NodeChecks ?? s.Checks ?? [];
}

export function serviceChecks(s: ConsulSession): string[] {
  return (s.ServiceChecks ?? []).map((c) => c.ID);
}

/** The directory a key lives in, with its trailing slash ("a/b/.lock" → "a/b/"; "x" → ""). */
export function dirOf(key: string): string {
  const i = key.lastIndexOf("/");
  return i < 0 ? "" : key.slice(0, i + 1);
}

export function baseName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** baseName(key) === DOT_LOCK, without a substring per key. */
export function isDotLock(key: string): boolean {
  return key.endsWith(SLASH_DOT_LOCK) || key === DOT_LOCK;
}

/** Fixture files (lib/formats/testdata/consul/*.json), written by scripts/capture/consul. */
export interface ConsulFixture {
  capture: { library: string; version: string; scenario: string; program: string; server: string; capturedAt: string };
  now: number;
  entries: ConsulEntry[];
  sessions: ConsulSession[];
}
