// Reads: prefixes, single keys, semaphore directories and sessions, at the connection's
// consistency.
//
// Discovery is ONE `GET /v1/kv/<prefix>?recurse` per configured prefix, bounded, rather than
// walking `?keys&separator=/`: a lock is only recognisable with its Session, Flags,
// LockIndex and (semaphores) value, which `?keys` does not return, so a key walk would cost
// one more GET per key (10k round trips for 10k locks) and give no single X-Consul-Index to
// block on. The bound: the answer is read up to maxPrefixBytes and at most maxKeysPerPrefix
// entries are used; past either the prefix becomes a named problem ("narrow the prefix")
// instead of an unbounded read. Prefixes are the operator's lock namespaces, not all of KV.

import { UNREAD_PREFIX, type Problem } from "../../model";
import { dirOf, parseKv, parseKvIndexes, type ConsulEntry, type ConsulSession } from "../../formats/consul/entry";
import { KvListStream } from "../../formats/consul/stream";
import { ConsulError, errorFromAnswer, kvPath, type ConsulAnswer, type ConsulHttp, type ReadMeta } from "./http";
import type { ConsulConnectionConfig } from "./config";

export interface PrefixRead {
  prefix: string;
  entries: ConsulEntry[];
  /** X-Consul-Index of the answer (≥ 1), to block on next. */
  index: number;
  meta: ReadMeta;
  problems: Problem[];
  /** The prefix is over the configured bounds: nothing of it was used. */
  tooLarge: boolean;
}

export interface Blocking {
  index: number;
  waitSec: number;
}

/** A prefix with more entries than maxKeysPerPrefix: the read stops at the first one over. */
class TooManyKeys extends Error {}

type Streamed<T> = { answer: ConsulAnswer; list: T[]; tooLarge: null } | { answer: null; list: null; tooLarge: string };

/**
 * One `?recurse` read of a prefix, parsed by `parse` while the answer streams in
 * (lib/formats/consul/stream.ts). Whole or nothing: an answer cut midway rejects, and what was
 * parsed of it is dropped. Over maxPrefixBytes or maxKeysPerPrefix: `tooLarge` says which.
 */
async function streamPrefix<T>(
  http: ConsulHttp,
  cfg: ConsulConnectionConfig,
  prefix: string,
  signal: AbortSignal,
  blocking: Blocking | undefined,
  parse: (json: string) => T[],
): Promise<Streamed<T>> {
  const query = blocking ? { recurse: true, index: blocking.index, wait: `${blocking.waitSec}s` } : { recurse: true };
  // Consul adds up to wait/16 of jitter to a blocking query; leave room for it and the answer.
  const timeoutMs = blocking ? blocking.waitSec * 1000 * (17 / 16) + cfg.requestTimeoutMs : cfg.requestTimeoutMs;
  const max = cfg.maxKeysPerPrefix;
  const stream = new KvListStream({ parse, maxEntries: max, tooMany: () => new TooManyKeys(`the prefix holds more than ${max} keys (limit ${max})`) });
  try {
    const sink = (chunk: Buffer) => stream.write(chunk);
    const answer = await http.call("GET", kvPath(prefix), { query, read: true, signal, timeoutMs, maxBytes: cfg.maxPrefixBytes, sink });
    return { answer, list: answer.status === 404 ? [] : stream.end(), tooLarge: null };
  } catch (err) {
    if (err instanceof ConsulError && err.code === "too-large")
      return { answer: null, list: null, tooLarge: `the prefix's KV answer is over ${cfg.maxPrefixBytes} bytes` };
    if (err instanceof TooManyKeys) return { answer: null, list: null, tooLarge: err.message };
    throw err;
  }
}

function tooLargeProblem(prefix: string, why: string): Problem {
  return { key: prefix, code: UNREAD_PREFIX, message: `${why}: not read. Configure narrower prefixes.` };
}

export async function readPrefix(http: ConsulHttp, cfg: ConsulConnectionConfig, prefix: string, signal: AbortSignal, blocking?: Blocking): Promise<PrefixRead> {
  const f = await streamPrefix(http, cfg, prefix, signal, blocking, parseKv);
  if (!f.answer) return { prefix, entries: [], index: 1, meta: emptyMeta(), problems: [tooLargeProblem(prefix, f.tooLarge)], tooLarge: true };
  const { answer, list: entries } = f;
  const problems: Problem[] = [];
  if (answer.meta.filtered) {
    problems.push({
      key: prefix,
      code: "acl-filtered",
      message: "Consul's ACLs hid some keys under this prefix from LockDeck's token: locks there are not shown (needs key_prefix read)",
    });
  }
  return { prefix, entries, index: Math.max(1, answer.meta.index ?? 1), meta: answer.meta, problems, tooLarge: false };
}

/** What a watch compares: each key's ModifyIndex (no Flags pass, no entry objects). */
export interface PrefixIndexes {
  index: number;
  seen: Map<string, number>;
  tooLarge: boolean;
}

export async function readPrefixIndexes(
  http: ConsulHttp,
  cfg: ConsulConnectionConfig,
  prefix: string,
  signal: AbortSignal,
  blocking?: Blocking,
): Promise<PrefixIndexes> {
  const f = await streamPrefix(http, cfg, prefix, signal, blocking, parseKvIndexes);
  if (!f.answer) return { index: 1, seen: new Map(), tooLarge: true };
  const seen = new Map<string, number>();
  for (const e of f.list) seen.set(e.Key, e.ModifyIndex);
  return { index: Math.max(1, f.answer.meta.index ?? 1), seen, tooLarge: false };
}

export async function readSessions(
  http: ConsulHttp,
  signal: AbortSignal,
  blocking?: Blocking,
  timeoutMs?: number,
): Promise<{ sessions: ConsulSession[]; index: number; meta: ReadMeta }> {
  const query = blocking ? { index: blocking.index, wait: `${blocking.waitSec}s` } : {};
  const a = await http.call("GET", "/v1/session/list", { query, read: true, signal, timeoutMs });
  if (a.status !== 200) throw errorFromAnswer(a);
  const sessions = JSON.parse(a.body.toString("utf8")) as ConsulSession[] | null;
  return { sessions: sessions ?? [], index: Math.max(1, a.meta.index ?? 1), meta: a.meta };
}

/** One key; [] when it does not exist. */
export async function readKey(http: ConsulHttp, key: string, signal: AbortSignal, consistent = false): Promise<{ entries: ConsulEntry[]; meta: ReadMeta }> {
  const a = await http.call("GET", kvPath(key), { read: !consistent, query: consistent ? { consistent: true } : {}, signal });
  return { entries: a.status === 404 ? [] : parseKv(a.body.toString("utf8")), meta: a.meta };
}

/** What a whole-KV scan keeps of each entry: its key and holder session. */
interface KeyHolder {
  Key: string;
  Session?: string;
}

function parseKeyHolders(json: string): KeyHolder[] {
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed)) throw new Error("KV answer is not a JSON array");
  return (parsed as Array<Record<string, unknown>>).map((e) => ({
    Key: String(e?.Key),
    ...(typeof e?.Session === "string" && e.Session ? { Session: e.Session } : {}),
  }));
}

export type HeldKeys = { keys: string[] } | { cannot: string };

/**
 * Every key one session holds, anywhere in the KV: Consul has no session → keys index, so this
 * is ONE consistent `GET /v1/kv/?recurse` (Key and Session kept per entry, values dropped as the
 * answer streams in), bounded like a prefix read (maxPrefixBytes, maxKeysPerPrefix entries).
 * `cannot` when it cannot prove the list whole: over a bound, or Consul's ACLs hid entries
 * from the token (X-Consul-Results-Filtered-By-ACLs). A failed read throws.
 */
export async function readHeldBy(http: ConsulHttp, cfg: ConsulConnectionConfig, session: string, signal: AbortSignal): Promise<HeldKeys> {
  const max = cfg.maxKeysPerPrefix;
  const stream = new KvListStream<KeyHolder>({ parse: parseKeyHolders, maxEntries: max, tooMany: () => new TooManyKeys(`the KV holds more than ${max} keys`) });
  let answer: ConsulAnswer;
  try {
    const sink = (chunk: Buffer) => stream.write(chunk);
    answer = await http.call("GET", kvPath(""), { query: { recurse: true, consistent: true }, signal, maxBytes: cfg.maxPrefixBytes, sink });
  } catch (err) {
    if (err instanceof ConsulError && err.code === "too-large") return { cannot: `the whole KV is over ${cfg.maxPrefixBytes} bytes (maxPrefixBytes)` };
    if (err instanceof TooManyKeys) return { cannot: `${err.message} (maxKeysPerPrefix)` };
    throw err;
  }
  if (answer.meta.filtered) return { cannot: "Consul's ACLs hid some keys from LockDeck's token (X-Consul-Results-Filtered-By-ACLs)" };
  const all = answer.status === 404 ? [] : stream.end();
  return { keys: all.filter((e) => e.Session === session).map((e) => e.Key) };
}

/** The entries directly under a directory ("a/b/"), i.e. a semaphore's .lock and contenders. */
export async function readDir(
  http: ConsulHttp,
  cfg: ConsulConnectionConfig,
  dir: string,
  signal: AbortSignal,
): Promise<{ entries: ConsulEntry[]; meta: ReadMeta }> {
  const a = await http.call("GET", kvPath(dir), { query: { recurse: true }, read: true, signal, maxBytes: cfg.maxPrefixBytes });
  const all = a.status === 404 ? [] : parseKv(a.body.toString("utf8"));
  return { entries: all.filter((e) => dirOf(e.Key) === dir), meta: a.meta };
}

/** One session, or null when Consul no longer has it (invalidated). */
export async function readSession(http: ConsulHttp, id: string, signal: AbortSignal): Promise<ConsulSession | null> {
  return (await readSessionIndexed(http, id, signal)).session;
}

/**
 * null while Consul has the session; once it has not, the sessions table's index (X-Consul-Index)
 * as this read saw it — the index of the last session created or ended, not necessarily this one's.
 */
export async function sessionGoneAt(http: ConsulHttp, id: string, signal: AbortSignal): Promise<number | null> {
  const { session, index } = await readSessionIndexed(http, id, signal);
  return session ? null : index;
}

/** GET /v1/session/info/<id>: the session (null when Consul no longer has it) and the answer's X-Consul-Index. */
async function readSessionIndexed(http: ConsulHttp, id: string, signal: AbortSignal): Promise<{ session: ConsulSession | null; index: number | null }> {
  const a = await http.call("GET", `/v1/session/info/${encodeURIComponent(id)}`, { read: true, signal });
  const list = a.status === 404 ? null : (JSON.parse(a.body.toString("utf8")) as ConsulSession[] | null);
  return { session: list?.[0] ?? null, index: a.meta.index };
}

export function emptyMeta(): ReadMeta {
  return { index: null, knownLeader: null, lastContactMs: null, effective: null, filtered: false };
}

/** How the view was read, in words, from the mode asked for and what Consul's headers said. */
export function describeConsistency(mode: ConsulConnectionConfig["consistency"], metas: ReadMeta[]): string {
  const effective = metas.find((m) => m.effective)?.effective;
  const leaderUnknown = metas.some((m) => m.knownLeader === false);
  const contact = Math.max(0, ...metas.map((m) => m.lastContactMs ?? 0));
  const base =
    mode === "consistent"
      ? "consistent (leader confirmed by a quorum)"
      : mode === "stale"
        ? "stale (any server may answer)"
        : "default (leader-served; may be briefly stale across a leader change)";
  const parts = [base];
  if (effective && effective !== { default: "leader", consistent: "consistent", stale: "stale" }[mode]) parts.push(`Consul served it as ${effective}`);
  // As of the read it labels ("before this read", not "ago"): a view keeps its label while time
  // passes, and the health check says what Consul's answers say now (adapter.ts health()).
  if (mode === "stale" || contact > 0) parts.push(`last contact with the leader ${contact} ms before this read`);
  if (leaderUnknown) parts.push("NO KNOWN LEADER: the data may be arbitrarily old");
  return parts.join(" · ");
}
