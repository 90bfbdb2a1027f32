// Building blocks shared by the Consul decoders. Pure.
//
// TTL contract: Consul exposes a session's CONFIGURED TTL only, never the time left (and the
// TTL is a lower bound: "sessions may not be reaped for up to double this TTL", reset on
// leader failover). So every Consul record has ttlMs = null with ttlSource "session" and the
// configured TTL in holder.session.ttl — no countdown is ever invented.

import type { Holder, Holding, LockKind, LockRecord, LockState, Liveness, RawPreview, Waiter } from "../../model";
import type { DecodeContext } from "../types";
import { PREVIEW_BYTES, previewBytes } from "../preview";
import { nodeChecks, serviceChecks, valueBytes, type ConsulEntry, type ConsulSession } from "./entry";

export type Sessions = ReadonlyMap<string, ConsulSession>;

/**
 * Arrays shared by many records (frozen: whoever wants to change one assigns a new array, as
 * lib/formats/liveness.ts does). A 100k-key snapshot built three fresh arrays per record.
 */
const NO_HOLDERS = Object.freeze([]) as unknown as Holder[];
const NO_WAITERS = Object.freeze([]) as unknown as Waiter[];
const NO_WARNINGS = Object.freeze([]) as unknown as string[];
const SESSION_DEAD = Object.freeze(["holder-session-dead"]) as unknown as string[];
const NO_EXPIRY = Object.freeze(["no-expiry"]) as unknown as string[];

export function baseRecord(
  ctx: DecodeContext,
  entry: ConsulEntry,
  opts: {
    name: string;
    format: string;
    library?: string;
    kind: LockKind;
    holding: Holding;
    state?: LockState;
    fencingToken?: string;
    /** Default: a shared empty array (assign, never push). */
    holders?: Holder[];
    /** Default: a shared empty array (assign, never push). */
    warnings?: string[];
  },
): LockRecord {
  const { name, format, library, kind, holding, state = "free", fencingToken, holders = NO_HOLDERS, warnings = NO_WARNINGS } = opts;
  return recordOf(ctx, entry, name, format, library, kind, state, holding, fencingToken, holders, warnings);
}

/**
 * baseRecord's literal, each field a parameter: a snapshot's held keys (10k–100k) are built
 * here directly, without an options object per record (that object alone made their decode
 * ~35% slower, measured in docs/benchmarks.md).
 */
export function recordOf(
  ctx: DecodeContext,
  entry: ConsulEntry,
  name: string,
  format: string,
  library: string | undefined,
  kind: LockKind,
  state: LockState,
  holding: Holding,
  fencingToken: string | undefined,
  holders: Holder[],
  warnings: string[],
): LockRecord {
  // One literal, every field present (library undefined when none: omitted in JSON), so 10k
  // records share one shape and none is built through a spread.
  return {
    connection: ctx.connection,
    key: entry.Key,
    name,
    format,
    library: library || undefined,
    fencingToken,
    kind,
    state,
    holders,
    waiters: NO_WAITERS,
    ttlMs: null,
    ttlSource: "session",
    holding,
    observedAt: isoOf(ctx.now),
    consistency: ctx.consistency,
    warnings,
    // Whole-prefix snapshots skip them (ctx.previews false): the table never shows them, and
    // the lock detail re-reads its key, with previews.
    raw: ctx.previews !== false ? [preview(entry)] : undefined,
  };
}

export function preview(entry: ConsulEntry): RawPreview {
  // "string": a KV value is a byte string (the UI then counts bytes); flags show in the format.
  const type = "string";
  // Fast path for the common short printable-ASCII value (identical result, 10k times per
  // snapshot): atob gives the bytes as a latin1 string with no Buffer in between.
  const text = shortText(entry.Value);
  if (text !== null) return { key: entry.Key, type, preview: text, encoding: "text", size: text.length, truncated: false };
  const bytes = valueBytes(entry);
  return previewBytes(entry.Key, type, bytes, bytes.length, false);
}

/** The value as text when it is at most PREVIEW_BYTES of printable ASCII, else null. */
function shortText(b64: string | null): string | null {
  if (!b64) return "";
  if (b64.length > Math.ceil(PREVIEW_BYTES / 3) * 4) return null;
  let text: string;
  try {
    text = atob(b64);
  } catch {
    return null; // not strict base64: valueBytes' lenient decode decides
  }
  if (text.length > PREVIEW_BYTES) return null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
  }
  return text;
}

let lastIso: [number, string] = [NaN, ""];
function isoOf(now: number): string {
  if (lastIso[0] !== now) lastIso = [now, new Date(now).toISOString()];
  return lastIso[1];
}

/**
 * What a decode knows about one session, built once: thousands of keys often share a few
 * sessions, and their records share the holder's session details and the warnings.
 */
export interface SessionHolder {
  /** The session's holder as every record shows it (without liveness: see `holders`). */
  holder: Holder;
  session: ConsulSession | null;
  /** sessionWarnings(session), frozen. */
  warnings: string[];
  /**
   * With a node judge (a decode given the node health): the holder's liveness and the
   * warnings with holder-node-failing when it is dead, frozen; null when there is nothing to
   * judge (the session is gone: holder-session-dead says it already). Made once per session.
   */
  judged?: { liveness: Liveness; warnings: string[] } | null;
  /** libraryFromSession(session, ""), made on first use: "" when the session's name names no library. */
  library?: string;
  /**
   * The holders of every key this session holds alone, made on first use with the judged
   * liveness and shared by those records: frozen, so the hub gives each record its start
   * without writing into it (lib/hub/since.ts). A 100k-key snapshot made a holder and an
   * array per record before (docs/benchmarks.md).
   */
  holders?: Holder[];
}

/** A session (by id) on its node, judged by the checks it is bound to under the node health the decode was given (lib/formats/consul/liveness.ts). */
export type NodeJudge = (sessionId: string, node: string | undefined) => Liveness;

/**
 * A holder object of the session's (the session details shared) for one record's own holders
 * array, which the hub fills in place (a semaphore's holders, lib/hub/since.ts).
 */
export function ownHolder(h: Holder, liveness?: Liveness): Holder {
  return { id: h.id, owner: h.owner, ownerKey: h.ownerKey, session: h.session, liveness };
}

/** The frozen holders array every key this session holds alone shares in one decode (SessionHolder.holders). */
export function soleHolders(hit: SessionHolder): Holder[] {
  return (hit.holders ??= Object.freeze([ownHolder(hit.holder, hit.judged?.liveness)]) as unknown as Holder[]);
}

/**
 * SessionHolders by session id, for one decode's run of keys. A Map keyed by the id would hash
 * every key's Session string in full first, and each KV entry's is a fresh copy (~100 ns a
 * key, ~10 ms at 100k); a number made of the id's first and last six characters picks a short
 * list instead, and === confirms. When more than CROWDED ids share one number (Consul's ids are
 * random UUIDs, so only ids of another shape can), everything moves to a plain Map.
 */
class HolderCache {
  private readonly byCode = new Map<number, SessionHolder[]>();
  private crowded: Map<string, SessionHolder> | null = null;

  get(id: string): SessionHolder | undefined {
    if (this.crowded) return this.crowded.get(id);
    const list = this.byCode.get(codeOf(id));
    if (list) for (let i = 0; i < list.length; i++) if (list[i].holder.id === id) return list[i];
    return undefined;
  }

  set(id: string, h: SessionHolder): void {
    if (this.crowded) return void this.crowded.set(id, h);
    const code = codeOf(id);
    const list = this.byCode.get(code);
    if (!list) return void this.byCode.set(code, [h]);
    list.push(h);
    if (list.length <= CROWDED) return;
    this.crowded = new Map();
    for (const l of this.byCode.values()) for (const x of l) this.crowded.set(x.holder.id, x);
  }
}

const CROWDED = 8;

function codeOf(id: string): number {
  let c = id.length;
  for (let i = 0, n = Math.min(6, id.length); i < n; i++) c = (c * 31 + id.charCodeAt(i)) | 0;
  for (let i = Math.max(6, id.length - 6); i < id.length; i++) c = (c * 31 + id.charCodeAt(i)) | 0;
  return c;
}

const holderCache = new WeakMap<Sessions, HolderCache>();
/** The last decode's cache, looked up without the WeakMap (10k lookups in a row per decode); held until the next decode. */
let last: { sessions: Sessions; cache: HolderCache } | null = null;

/** A holder named by its session, with what /v1/session/list says about it (null: session gone). */
export function sessionHolder(id: string, sessions: Sessions, judge?: NodeJudge): SessionHolder {
  let cache = last?.sessions === sessions ? last.cache : holderCache.get(sessions);
  if (!cache) holderCache.set(sessions, (cache = new HolderCache()));
  if (last?.cache !== cache) last = { sessions, cache };
  let hit = cache.get(id);
  if (!hit) {
    const made = makeHolder(id, sessions);
    cache.set(
      id,
      (hit = {
        holder: made.holder,
        session: made.session,
        warnings: sessionWarnings(made.session),
        judged: undefined,
        library: undefined,
        holders: undefined,
      }),
    );
  }
  if (judge && hit.judged === undefined) hit.judged = judged(hit, judge);
  return hit;
}

/** What applyNodeHealth (lib/formats/consul/liveness.ts) would set on a record held by this session alone. */
function judged(h: SessionHolder, judge: NodeJudge): SessionHolder["judged"] {
  if (!h.session) return null;
  const liveness = judge(h.holder.id, h.holder.session?.node);
  const warnings = liveness.state === "dead" ? (Object.freeze([...h.warnings, NODE_FAILING]) as unknown as string[]) : h.warnings;
  return { liveness, warnings };
}

/** The library the holder's session names, or "" (the caller's fallback applies): once per session. */
export function libraryOf(h: SessionHolder): string {
  return (h.library ??= libraryFromSession(h.session, ""));
}

const INDEX_TEXTS = Array.from({ length: 1024 }, (_, i) => String(i));
/** String(n), shared for small indexes: most keys' LockIndex is 1, and 10k records each made their own. */
export function indexText(n: number): string {
  return n >= 0 && n < INDEX_TEXTS.length && Number.isInteger(n) ? INDEX_TEXTS[n] : String(n);
}

/** The lock's warning when its holder's node is failing (lib/formats/consul/liveness.ts). */
export const NODE_FAILING = "holder-node-failing";

/** A Consul session is its client: every key it holds or contends with names it. */
export function sessionOwnerKey(id: string): string {
  return `session:${id}`;
}

function makeHolder(id: string, sessions: Sessions): { holder: Holder; session: ConsulSession | null } {
  const s = sessions.get(id) ?? null;
  if (!s) return { holder: { id, ownerKey: sessionOwnerKey(id), session: { id } }, session: null };
  return {
    holder: {
      id,
      ...(s.Name ? { owner: s.Name } : {}),
      ownerKey: sessionOwnerKey(id),
      session: {
        id,
        name: s.Name || undefined,
        node: s.Node || undefined,
        behavior: s.Behavior || "release",
        lockDelayMs: s.LockDelay !== undefined ? Math.round(s.LockDelay / 1e6) : undefined,
        ttl: s.TTL || undefined,
      },
    },
    session: s,
  };
}

/** Warnings a holding session earns: gone, or nothing at all that would ever end it (frozen: assign, never push). */
export function sessionWarnings(session: ConsulSession | null): string[] {
  if (!session) return SESSION_DEAD;
  const bound = nodeChecks(session).length + serviceChecks(session).length;
  return !session.TTL && bound === 0 ? NO_EXPIRY : NO_WARNINGS;
}

/** Which library most likely wrote this, from the session name the libraries give. */
export function libraryFromSession(session: ConsulSession | null, fallback: string): string {
  const name = session?.Name ?? "";
  if (name.startsWith("Consul lock for ")) return "consul lock (CLI)";
  if (name === "Consul API Lock") return "consul api.Lock";
  if (name === "Consul API Semaphore") return "consul api.Semaphore";
  return fallback;
}
