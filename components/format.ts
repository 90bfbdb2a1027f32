// Display formatting shared by every view. Pure and locale-pinned ("en-US" numbers) so the
// same input renders the same text on the server and in any browser. Ages are computed
// between two server timestamps (e.g. a record's observedAt and its holder's since), never
// against the browser clock: the console shows what the store reported, not a local countdown.

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const pad2 = (n: number) => String(n).padStart(2, "0");

/**
 * formatDuration renders a non-negative span compactly: "850ms", "1.2s", "18s", "3m10s",
 * "4h05m", "2d4h". With `precise`, spans under a minute keep one decimal ("18.4s").
 * Negative spans render as "0s" (callers decide what an overdue value means).
 */
export function formatDuration(ms: number, precise = false): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 0) ms = 0;
  if (ms < SECOND) return `${Math.round(ms)}ms`;
  if (ms < MINUTE) {
    const s = ms / SECOND;
    if (precise || s < 10) {
      const text = (Math.floor(s * 10) / 10).toFixed(1);
      return `${text.endsWith(".0") && !precise ? text.slice(0, -2) : text}s`;
    }
    return `${Math.floor(s)}s`;
  }
  if (ms < HOUR) {
    const m = Math.floor(ms / MINUTE);
    return `${m}m${pad2(Math.floor((ms % MINUTE) / SECOND))}s`;
  }
  if (ms < DAY) {
    const h = Math.floor(ms / HOUR);
    return `${h}h${pad2(Math.floor((ms % HOUR) / MINUTE))}m`;
  }
  const d = Math.floor(ms / DAY);
  const h = Math.floor((ms % DAY) / HOUR);
  return h ? `${d}d${h}h` : `${d}d`;
}

/** formatTtl renders a store-reported remaining TTL: null is "∞ no expiry", below zero "expired". */
export function formatTtl(ttlMs: number | null, precise = false): string {
  if (ttlMs === null) return "∞ no expiry";
  if (ttlMs < 0) return "expired";
  return formatDuration(ttlMs, precise);
}

/** msBetween returns to - from in ms for two ISO timestamps, or null when either is missing or invalid. */
export function msBetween(fromIso: string | null | undefined, toIso: string | null | undefined): number | null {
  if (!fromIso || !toIso) return null;
  const from = Date.parse(fromIso);
  const to = Date.parse(toIso);
  if (Number.isNaN(from) || Number.isNaN(to)) return null;
  return to - from;
}

/** formatAge renders how long before `atIso` the moment `sinceIso` was ("3m10s"), or "–". */
export function formatAge(sinceIso: string | null | undefined, atIso: string | null | undefined): string {
  const ms = msBetween(sinceIso, atIso);
  return ms === null ? "–" : formatDuration(ms);
}

/** formatClock renders an ISO time as local wall-clock "14:03:55" (with ms: "14:03:55.112"). */
export function formatClock(iso: string | null | undefined, withMs = false): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const base = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return withMs ? `${base}.${String(d.getMilliseconds()).padStart(3, "0")}` : base;
}

/** formatDateTime renders an ISO time as local "2024-05-01 14:03:55" for tables spanning days. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${formatClock(iso)}`;
}

const COUNT = new Intl.NumberFormat("en-US");

/** formatCount renders an integer with thousands separators: 1284 → "1,284". */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/**
 * shortId shortens long holder, lease and session ids while keeping what tells them apart:
 * a Redisson "uuid:thread" keeps its thread ("7f3a…:42"), anything else keeps head and tail
 * ("7608…c3206"). Ids of up to 14 characters are returned unchanged.
 */
export function shortId(id: string): string {
  if (id.length <= 14) return id;
  const colon = id.lastIndexOf(":");
  if (colon > 8 && id.length - colon <= 8) return `${id.slice(0, 4)}…${id.slice(colon)}`;
  // A uuid inside a longer name (Curator "_c_<uuid>-lock-0000000003", kazoo "<hex>__lock__…"):
  // the uuid is shortened, the readable rest (the sequence number) is kept.
  const m = UUIDISH.exec(id);
  if (m && m[0].length < id.length) {
    const text = id.slice(0, m.index + 4) + "…" + id.slice(m.index + m[0].length);
    if (text.length <= 28) return text;
  }
  return `${id.slice(0, 4)}…${id.slice(-5)}`;
}

/** A uuid, or 32 hex digits (kazoo's uuid4().hex), not part of a longer hex run. */
const UUIDISH = /(?<![0-9a-f])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})(?![0-9a-f])/i;
const UUIDISH_ALL = new RegExp(UUIDISH.source, "gi");

/** compactIds shortens every uuid inside display text to its first 8 characters: "client 7f3a9c1e… thread 42". */
export function compactIds(text: string): string {
  return text.replace(UUIDISH_ALL, (u) => `${u.slice(0, 8)}…`);
}

/** How a view was read: live push, polling at an interval, or a stale snapshot of some age. */
export interface ReadMode {
  mode: "live" | "polling";
  /** The live feed as the server names it, e.g. "client tracking (prefixes lock:)". */
  feed?: string;
  pollIntervalMs?: number;
  stale: boolean;
  staleAgeMs: number | null;
  /** Server-measured time since the view was last confirmed (a read, or the live feed being healthy). */
  confirmedAgeMs?: number | null;
}

/** formatAgo renders a server-measured age as "just now", "4 s ago", "3m10s ago". */
export function formatAgo(ms: number): string {
  if (ms < SECOND) return "just now";
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)} s ago`;
  return `${formatDuration(ms)} ago`;
}

/**
 * formatReadMode renders the read mode the way every view shows it: "live, confirmed 1 s ago",
 * "polling 5s, read 3 s ago", "stale 42s". Ages are the server's (confirmedAgeMs, staleAgeMs).
 */
export function formatReadMode(m: ReadMode): string {
  if (m.stale) return m.staleAgeMs === null ? "stale" : `stale ${formatDuration(m.staleAgeMs)}`;
  const age = m.confirmedAgeMs;
  if (m.mode === "polling") {
    const base = m.pollIntervalMs ? `polling ${formatDuration(m.pollIntervalMs)}` : "polling";
    return age == null ? base : `${base}, read ${formatAgo(age)}`;
  }
  return age == null ? "live" : `live, confirmed ${formatAgo(age)}`;
}

/** The later of two ISO times (either may be missing): the reference "now" for an age. */
export function laterOf(a: string | null | undefined, b: string | null | undefined): string | undefined {
  if (!a) return b ?? undefined;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** plural renders a count with its noun: plural(1, "problem") → "1 problem", plural(3, "entry", "entries") → "3 entries". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/**
 * Unit of a raw preview's size by store value type: byte strings (Redis string, ZooKeeper
 * znode data, etcd and Consul KV values) count bytes; Redis collections count their elements.
 */
const SIZE_UNIT: Record<string, [string, string]> = {
  hash: ["field", "fields"],
  list: ["item", "items"],
  set: ["member", "members"],
  zset: ["member", "members"],
  stream: ["entry", "entries"],
};

/** formatRawSize renders a raw preview's size in its unit: "9 bytes", "2 fields". */
export function formatRawSize(type: string, size: number): string {
  const [one, many] = SIZE_UNIT[type] ?? ["byte", "bytes"];
  return plural(size, one, many);
}
