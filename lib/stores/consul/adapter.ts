// The Consul store adapter: bounded prefix reads + the session list, blocking-query watch,
// re-reads of single locks, the sessions view, and conditional force-release
// (txn unlock · session destroy · semaphore eviction). Only lib/stores/consul talks to Consul.

import type {
  Health,
  Holder,
  Liveness,
  LockRecord,
  LockView,
  ReleaseMode,
  ReleaseOutcome,
  ReleasePlan,
  RereadResult,
  StoreAdapter,
  StoreChange,
} from "../../model";
import type { ConsulConnectionConfig } from "./config";
import { ConsulError, ConsulHttp, errorFromAnswer, kvPath, type ConsulAnswer, type ReadMeta } from "./http";
import { describeConsistency, readDir, readHeldBy, readKey, readPrefix, readPrefixIndexes, readSession, readSessions, sessionGoneAt } from "./read";
import { blockingChanges, type PrefixState } from "./watch";
import { describe, semaphoreEvictees, type PlanContext } from "./plan";
import { evictOps, txnErrors, txnJson, unlockOps, MAX_TXN_OPS } from "./release";
import { sessionsView, type SessionsView } from "./sessions";
import { releaseTarget } from "../release-target";
import { CONSUL_FORMATS, decodeConsul } from "../../formats/consul";
import { ConsulScope } from "./scope";
import { DOT_LOCK, SEMAPHORE_FLAGS, baseName, dirOf, valueBytes, type ConsulEntry, type ConsulSession } from "../../formats/consul/entry";
import { parseSemaphoreValue } from "../../formats/consul/semaphore";
import { nodeJudge, type ConsulCheck, type NodeHealth } from "../../formats/consul/liveness";
import type { NodeJudge } from "../../formats/consul/record";
import { LATE_MS, probe } from "../probe";
import { mapLimit } from "./map-limit";
import { endedHoldings, sessionEnds } from "./ends";

const HEALTH_TIMEOUT_MS = 3_000;
/** A stale read whose server last heard from the leader longer ago than this does not confirm the view. */
export const STALE_CONTACT_MAX_MS = 3_000;
const REREAD_CONCURRENCY = 16;

export class ConsulAdapter implements StoreAdapter {
  readonly kind = "consul" as const;
  readonly formats = CONSUL_FORMATS;
  private readonly http: ConsulHttp;
  private readonly scope: ConsulScope;
  private live = false;
  private version: string | null = null;
  /**
   * The last read of every key under the prefixes (snapshot, then re-reads): plans, re-reads and
   * session→keys. A one-prefix snapshot leaves its entries as read, mapped at first use: 100k map
   * entries (~20 ms) are made after the snapshot is served, by the first re-read or plan.
   */
  private entryMap: Map<string, ConsulEntry> | null = new Map();
  private unmapped: ConsulEntry[] = [];
  private sessionsById = new Map<string, ConsulSession>();
  /** Where the last snapshot left each prefix and the session list: the watch resumes there. */
  private watchStart: { prefixes: Map<string, PrefixState>; sessions: { index: number; ids: Set<string> } } | null = null;
  /** Called when a blocking query loop opens (tests count them: idle cost = one per prefix + sessions). */
  onBlocking?: (what: string) => void;
  /** The datacenter's failing checks, last read (holder liveness). */
  private checks: { at: number; h: Promise<NodeHealth> } | null = null;
  /**
   * Per lock, the health read its holders' node states were last shown under (the live check
   * compares against it). The snapshot's locks all share one read: kept as that read plus their
   * keys and holders, no per-lock signature (100k map entries) until a check finds a node state
   * changed. Locks re-read since carry their own signature; null: gone. Until the first check
   * the snapshot's records stand in for their keys and holders: picking those out walks every
   * record once more (100k: ~10 ms), which the first check does instead of the snapshot.
   */
  private judged: { memo: SigMemo; keys: string[]; holders: Holder[][] } | { memo: SigMemo; records: LockRecord[] } | null = null;
  private rejudged = new Map<string, string | null>();
  /**
   * The sessions' node states every stored signature was last confirmed against; while a check
   * finds the same, no lock can have changed and it walks none (100k locks: ~50 MB of garbage a
   * check otherwise, every 5 s). null: walk at the next check.
   */
  private confirmedStates: string | null = null;

  constructor(
    private readonly id: string,
    private readonly cfg: ConsulConnectionConfig,
  ) {
    this.http = new ConsulHttp(cfg);
    this.scope = new ConsulScope(cfg.prefixes);
  }

  updateMode() {
    return this.live ? { mode: "live" as const } : { mode: "polling" as const, intervalMs: this.cfg.pollIntervalMs };
  }

  /** Only keys under a configured prefix, addressable exactly, are ever read or released (scope.ts). */
  private inPrefixes(key: string): boolean {
    return this.scope.covers(key);
  }

  keyProblem(key: string) {
    return this.scope.keyProblem(key);
  }

  /**
   * One check = two requests in parallel: /v1/status/leader (the server line; "" = no leader)
   * and a read at the connection's consistency of the first prefix's own key (usually a 404:
   * nothing read but Consul's headers). The view is confirmed only by what reads would get:
   * - default / consistent: no leader, or the read fails or does not answer in time
   *   → "unreachable: cannot confirm" (reads are not served; the view keeps its age);
   * - stale: the read's own X-Consul-KnownLeader and X-Consul-LastContact, every check: no
   *   known leader, or no contact for longer than STALE_CONTACT_MAX_MS → "cannot confirm",
   *   naming how long ago the answering server last heard from a leader. A stale read is at
   *   least that old; it is never "confirmed now".
   */
  async health(outer: AbortSignal): Promise<Health> {
    // The check waits HEALTH_TIMEOUT_MS; the requests themselves may take LATE_MS (Health.late).
    // Its own signal: checks whose requests are still out (a server holds a read up to its
    // rpc_hold_timeout, 7 s, when it has no leader) then add no listeners to the hub's.
    const signal = AbortSignal.any([outer]);
    let leaderNow: string | null = null;
    const leaderReq = this.http.request("GET", "/v1/status/leader", { signal, timeoutMs: LATE_MS }).then((a) => {
      if (a.status !== 200) throw errorFromAnswer(a);
      return (leaderNow = JSON.parse(a.body.toString("utf8")) as string);
    });
    // A 403 is an answer too: a token allowed only keys below the prefix (key_prefix "locks/a/"
    // for prefix "locks/") reads its locks, filtered, but not the prefix's own key; the server
    // that refused it resolved the token, i.e. reads are served (its headers may be missing).
    const readReq = this.http.request("GET", kvPath(this.cfg.prefixes[0]), { read: true, signal, timeoutMs: LATE_MS }).then((a) => {
      if (a.status !== 200 && a.status !== 404 && a.status !== 403) throw errorFromAnswer(a);
      return a.meta;
    });
    // Whichever fails first decides (a rejection of the other is handled by probe's `late`).
    const both = Promise.all([leaderReq, readReq]);
    const probed = await probe(both, HEALTH_TIMEOUT_MS, signal);
    if (!probed.ok) {
      // "No cluster leader" (a 500 to the read, after Consul's rpc_hold_timeout) says more than "timed out".
      if (leaderNow === "" && this.cfg.consistency !== "stale") return { status: "unreachable", message: this.noLeader() };
      return { status: "unreachable", message: `cannot confirm: ${probed.message}`, ...(probed.late ? { late: probed.late } : {}) };
    }
    const [leader, meta] = probed.value;
    if (this.version === null) this.version = await this.agentVersion(signal);
    const name = `Consul ${this.version}${this.cfg.datacenter ? ` · dc ${this.cfg.datacenter}` : ""}`;
    const server = leader ? `${name} · leader ${leader}` : `${name} · NO LEADER`;
    if (this.cfg.consistency !== "stale") {
      if (!leader) return { status: "unreachable", message: this.noLeader(), server };
      return { status: "ok", message: "", server };
    }
    const label = describeConsistency("stale", [meta]);
    if (meta.knownLeader === false)
      return {
        status: "unreachable",
        message: `cannot confirm: Consul's stale read says NO KNOWN LEADER, ${contactText(meta.lastContactMs)}: what it serves may be arbitrarily old (${label})`,
        server,
      };
    if (meta.lastContactMs !== null && meta.lastContactMs > STALE_CONTACT_MAX_MS)
      return {
        status: "unreachable",
        message: `cannot confirm: the answering server ${contactText(meta.lastContactMs)} (over ${STALE_CONTACT_MAX_MS / 1000} s): its stale reads are at least that old (${label})`,
        server,
      };
    return { status: "ok", message: "", server };
  }

  private noLeader(): string {
    return `cannot confirm: Consul has no cluster leader, so ${this.cfg.consistency} reads (and writes) fail; the view is as last read`;
  }

  /** The agent's version; needs agent:read, so a 403 just leaves it unnamed. */
  private async agentVersion(signal: AbortSignal): Promise<string> {
    try {
      const a = await this.http.request("GET", "/v1/agent/self", { signal, timeoutMs: HEALTH_TIMEOUT_MS });
      if (a.status !== 200) return "(version not readable)";
      const self = JSON.parse(a.body.toString("utf8")) as { Config?: { Version?: string; Datacenter?: string } };
      return `${self.Config?.Version ?? "?"}${!this.cfg.datacenter && self.Config?.Datacenter ? ` · dc ${self.Config.Datacenter}` : ""}`;
    } catch {
      return "(version not readable)";
    }
  }

  async snapshot(signal: AbortSignal) {
    const started = Date.now();
    const health = this.nodeHealth(signal);
    const [reads, sess] = await Promise.all([
      Promise.all(this.cfg.prefixes.map((p) => readPrefix(this.http, this.cfg, p, signal))),
      readSessions(this.http, signal),
    ]);
    // One prefix (the usual case): its entries as read. Several may overlap: one entry per key.
    const byKey = reads.length === 1 ? null : keyed(reads.map((r) => r.entries));
    const entries = byKey ? [...byKey.values()] : reads[0].entries;
    const consistency = describeConsistency(this.cfg.consistency, [...reads.map((r) => r.meta), sess.meta]);
    // No raw previews in a whole snapshot (the table never shows them; the lock detail re-reads).
    // The node health (read in parallel, usually in long before the KV answer) is judged in the
    // decode, once per session, not in a second walk over every record.
    const h = await health;
    const { locks, problems } = decodeConsul(entries, sess.sessions, { connection: this.id, consistency, now: started, previews: false }, h);
    // The sessions first: the judge reads their bound checks.
    this.sessionsById = new Map(sess.sessions.map((s) => [s.ID, s]));
    this.judgedUnder(locks, h, true);
    this.entryMap = byKey;
    this.unmapped = byKey ? [] : entries;
    this.watchStart = {
      prefixes: new Map(reads.map((r): [string, PrefixState] => [r.prefix, { index: r.index, seen: r.entries }])),
      sessions: { index: sess.index, ids: new Set(sess.sessions.map((s) => s.ID)) },
    };
    return {
      locks,
      problems: [...reads.flatMap((r) => r.problems), ...problems],
      observedAt: new Date(started).toISOString(),
      consistency,
    };
  }

  /**
   * Re-reads the locks behind some store keys. A semaphore is read as its whole directory
   * (.lock + contenders); any other key alone. Lock keys map: contender → <dir>/.lock.
   */
  async reread(keys: string[], signal: AbortSignal): Promise<RereadResult> {
    const started = Date.now();
    const wanted = [...new Set(keys)].filter((k) => this.inPrefixes(k));
    const dirs = new Set<string>();
    const singles: string[] = [];
    for (const k of wanted) {
      if (this.isSemaphoreRelated(k)) dirs.add(dirOf(k));
      else singles.push(k);
    }

    const metas: ReadMeta[] = [];
    const fetched = new Map<string, ConsulEntry>();
    const singleResults = await mapLimit(singles, REREAD_CONCURRENCY, (k) => readKey(this.http, k, signal));
    singles.forEach((k, i) => {
      const r = singleResults[i];
      metas.push(r.meta);
      const e = r.entries.find((x) => x.Key === k);
      if (e) fetched.set(k, e);
      else this.entries.delete(k);
      // A key that turns out to be a semaphore contender needs its whole directory.
      if (e && e.Flags === SEMAPHORE_FLAGS) dirs.add(dirOf(k));
    });
    const dirList = [...dirs];
    const dirResults = await mapLimit(dirList, REREAD_CONCURRENCY, (d) => readDir(this.http, this.cfg, d, signal));
    // Every key of a directory read, before and now: the read answers for each of them.
    const dirKeys = new Set<string>();
    dirList.forEach((d, i) => {
      metas.push(dirResults[i].meta);
      for (const k of [...this.entries.keys()]) {
        if (dirOf(k) !== d) continue;
        this.entries.delete(k);
        dirKeys.add(k);
      }
      for (const e of dirResults[i].entries) {
        fetched.set(e.Key, e);
        dirKeys.add(e.Key);
      }
    });
    // Before the new entries replace the old: which holdings ended, to ask Consul how.
    const ended = endedHoldings((k) => this.entries.get(k), fetched.values());
    for (const e of fetched.values()) this.entries.set(e.Key, e);

    const [sessions, endedBy] = await Promise.all([
      this.sessionsFor([...fetched.values()], signal),
      sessionEnds(ended, (id) => sessionGoneAt(this.http, id, signal), REREAD_CONCURRENCY),
    ]);
    signal.throwIfAborted();
    const consistency = describeConsistency(this.cfg.consistency, metas);
    const h = await this.nodeHealth(signal);
    const ctx = { connection: this.id, consistency, now: started, previews: true };
    const { locks, problems } = decodeConsul([...fetched.values()], [...sessions.values()], ctx, h);
    const lockKeys = new Set(wanted.map((k) => this.lockKeyOf(k, dirs, fetched)));
    const found = locks.filter((l) => lockKeys.has(l.key));
    for (const l of found) {
      const session = endedBy.get(l.key);
      if (session) l.ended = [{ session, cause: "session-ended" }];
    }
    this.judgedUnder(found, h, false);
    for (const k of lockKeys) if (!found.some((l) => l.key === k)) this.rejudged.set(k, null);
    const foundKeys = new Set(found.map((l) => l.key));
    // A directory's key that is no lock of its own now is gone as one too: a contender seen
    // before its .lock was written (an orphan, with a record and a problem of its own) is the
    // semaphore's once the .lock claims it.
    const gone = new Set([...lockKeys, ...dirKeys].filter((k) => !foundKeys.has(k)));
    return { locks: found, gone: [...gone], problems };
  }

  private get entries(): Map<string, ConsulEntry> {
    if (!this.entryMap) {
      this.entryMap = keyed([this.unmapped]);
      this.unmapped = [];
    }
    return this.entryMap;
  }

  /** Whether a key's lock is a semaphore (then its whole directory is read), per the last reads. */
  private isSemaphoreRelated(key: string): boolean {
    const inSemaphoreDir = this.entries.get(dirOf(key) + DOT_LOCK)?.Flags === SEMAPHORE_FLAGS;
    const e = this.entries.get(key);
    if (e) return e.Flags === SEMAPHORE_FLAGS || inSemaphoreDir;
    // Not seen before: a new .lock may be a new semaphore; a new key may be a new contender.
    return baseName(key) === DOT_LOCK || inSemaphoreDir;
  }

  /** The lock a store key belongs to: a contender (or a vanished key) in a semaphore dir → its .lock. */
  private lockKeyOf(key: string, dirs: Set<string>, fetched: Map<string, ConsulEntry>): string {
    const d = dirOf(key);
    if (!dirs.has(d) || fetched.get(d + DOT_LOCK)?.Flags !== SEMAPHORE_FLAGS) return key;
    const e = fetched.get(key);
    return !e || e.Flags === SEMAPHORE_FLAGS ? d + DOT_LOCK : key;
  }

  /** The sessions these entries name (holders, contenders, semaphore Holders), read one by one. */
  private async sessionsFor(entries: ConsulEntry[], signal: AbortSignal): Promise<Map<string, ConsulSession>> {
    const ids = new Set<string>();
    for (const e of entries) {
      if (e.Session) ids.add(e.Session);
      if (e.Flags === SEMAPHORE_FLAGS && baseName(e.Key) === DOT_LOCK) for (const h of parseSemaphoreValue(valueBytes(e))?.holders ?? []) ids.add(h);
    }
    const list = [...ids];
    const infos = await mapLimit(list, REREAD_CONCURRENCY, (id) => readSession(this.http, id, signal));
    const out = new Map<string, ConsulSession>();
    list.forEach((id, i) => {
      const s = infos[i];
      if (s) {
        out.set(id, s);
        this.sessionsById.set(id, s);
      } else this.sessionsById.delete(id);
    });
    return out;
  }

  async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    if (this.cfg.watch === "poll") throw new Error("blocking queries are off in the connection config (watch: poll)");
    const start = this.watchStart ?? { prefixes: new Map(), sessions: { index: 0, ids: new Set<string>() } };
    const waitSec = this.cfg.blockingWaitSec;
    this.live = true;
    try {
      yield* blockingChanges(
        {
          prefixes: this.cfg.prefixes,
          start,
          readPrefix: (p, index, s) => readPrefixIndexes(this.http, this.cfg, p, s, { index, waitSec }),
          readSessions: (index, s) => readSessions(this.http, s, { index, waitSec }, waitSec * 1000 * (17 / 16) + this.cfg.requestTimeoutMs),
          keysOfSession: (sid) => this.keysOfSession(sid),
          onBlocking: (what) => this.onBlocking?.(what),
          ...(this.cfg.livenessCheckMs > 0 && { tick: (s: AbortSignal) => this.checkLiveness(s), tickMs: this.cfg.livenessCheckMs }),
        },
        signal,
      );
    } finally {
      this.live = false;
    }
  }

  /**
   * The datacenter's non-passing checks (holder liveness), read at most every 2 s; "unknown"
   * with the reason when the token may not read them or the agent does not answer.
   */
  private nodeHealth(signal: AbortSignal, fresh = false): Promise<NodeHealth> {
    if (this.cfg.livenessCheckMs === 0) return Promise.resolve({ unknown: "liveness checks are off for this connection (livenessCheckMs: 0)" });
    if (!fresh && this.checks && Date.now() - this.checks.at < 2_000) return this.checks.h;
    const read = async (state: string) => {
      const a = await this.http.call("GET", `/v1/health/state/${state}`, { read: true, signal });
      if (a.status === 403)
        throw new ConsulError("forbidden", "health checks are not readable with LockDeck's token (needs node_prefix and service_prefix read)", true);
      if (a.status !== 200) throw errorFromAnswer(a);
      return { checks: (JSON.parse(a.body.toString("utf8")) as ConsulCheck[] | null) ?? [], filtered: a.meta.filtered };
    };
    const h = Promise.all([read("critical"), read("warning")]).then(
      ([c, w]): NodeHealth => ({ checks: [...c.checks, ...w.checks], filtered: c.filtered || w.filtered }),
      (err): NodeHealth => ({ unknown: `health checks not read: ${(err as Error).message}` }),
    );
    this.checks = { at: Date.now(), h };
    return h;
  }

  /** Remembers the health read fresh records' liveness was set under (the live check compares against it). */
  private judgedUnder(locks: LockRecord[], h: NodeHealth, all: boolean): void {
    const memo = sigMemo(h, this.sessionsById);
    if (all) {
      this.judged = { memo, records: locks };
      this.rejudged = new Map();
    } else for (const l of locks) this.rejudged.set(l.key, healthSig(l.holders, memo));
    if (this.statesKey(memo) !== this.confirmedStates) this.confirmedStates = null;
  }

  /** Each known session's node state under one health read (a few hundred sessions, not the locks). */
  private statesKey(memo: SigMemo): string {
    let key = `?:${stateOf(memo.judge("", undefined))}`;
    for (const s of this.sessionsById.values()) key += `,${s.ID}@${s.Node}:${stateOf(memo.judge(s.ID, s.Node))}`;
    return key;
  }

  /** Live check: locks whose holders' nodes started or stopped failing, for the hub to re-read. */
  private async checkLiveness(signal: AbortSignal): Promise<string[]> {
    if (!this.snapshotJudged()?.keys.length && this.rejudged.size === 0) return [];
    const h = await this.nodeHealth(signal, true);
    const changed: string[] = [];
    const memo = sigMemo(h, this.sessionsById);
    const states = this.statesKey(memo);
    if (states === this.confirmedStates) return changed;
    const differs = (key: string, sig: string) => healthSig(this.holdersOf(key), memo) !== sig;
    const judged = this.snapshotJudged();
    if (judged) {
      const { memo: then, keys, holders } = judged;
      for (let i = 0; i < keys.length; i++) if (!this.rejudged.has(keys[i]) && differs(keys[i], healthSig(holders[i], then))) changed.push(keys[i]);
    }
    for (const [key, sig] of this.rejudged) if (sig !== null && differs(key, sig)) changed.push(key);
    // Confirmed only when nothing differs: a changed lock's new signature comes with its re-read.
    this.confirmedStates = changed.length ? null : states;
    return changed;
  }

  /** The snapshot's locks as the live check walks them: their keys and holders, picked out at first use. */
  private snapshotJudged(): { memo: SigMemo; keys: string[]; holders: Holder[][] } | null {
    if (this.judged && "records" in this.judged) {
      const { memo, records } = this.judged;
      this.judged = { memo, keys: records.map((l) => l.key), holders: records.map((l) => l.holders) };
    }
    return this.judged;
  }

  /** The session holders of a lock as last read (its key's session, or a semaphore's contenders). */
  private holdersOf(lockKey: string): LockRecord["holders"] {
    const e = this.entries.get(lockKey);
    const ids =
      e?.Flags === SEMAPHORE_FLAGS && baseName(lockKey) === DOT_LOCK ? (parseSemaphoreValue(valueBytes(e))?.holders ?? []) : e?.Session ? [e.Session] : [];
    return ids.map((id) => ({ id, session: { id, node: this.sessionsById.get(id)?.Node } }));
  }

  /** Keys under the watched prefixes this session holds, per the last reads. */
  keysOfSession(sid: string): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) if (e.Session === sid) out.push(e.Key);
    return out.sort();
  }

  private planContext(): PlanContext {
    return {
      base: this.http.url,
      datacenter: this.cfg.datacenter,
      readOnly: this.cfg.readOnly,
      entries: this.entries,
      sessions: this.sessionsById,
      keysOfSession: (sid) => this.keysOfSession(sid),
    };
  }

  describeRelease(lock: LockView, mode: ReleaseMode, target?: string): ReleasePlan {
    return describe(lock, mode, this.planContext(), target);
  }

  /** The sessions page: every session with its checks' status and the keys it holds here. */
  async sessions(signal: AbortSignal): Promise<SessionsView> {
    const started = Date.now();
    const { sessions, meta } = await readSessions(this.http, signal);
    const nodes = [...new Set(sessions.map((s) => s.Node).filter((n): n is string => !!n))].slice(0, 32);
    const checks = await mapLimit(nodes, 8, async (node) => {
      const a = await this.http.call("GET", `/v1/health/node/${encodeURIComponent(node)}`, { read: true, signal });
      return a.status === 200 ? (JSON.parse(a.body.toString("utf8")) as Array<{ CheckID: string; Status: string; ServiceID?: string }>) : [];
    }).catch(() => nodes.map(() => null));
    const status = new Map<string, string>();
    nodes.forEach((n, i) => {
      for (const c of checks[i] ?? []) status.set(`${n}\u0000${c.CheckID}`, c.Status);
    });
    return sessionsView({
      sessions,
      checkStatus: (node, check) => status.get(`${node}\u0000${check}`) ?? null,
      entries: this.entries,
      observedAt: new Date(started).toISOString(),
      consistency: describeConsistency(this.cfg.consistency, [meta]),
      prefixes: this.cfg.prefixes,
    });
  }

  async forceRelease(lock: LockView, mode: ReleaseMode, signal: AbortSignal, holderId?: string): Promise<ReleaseOutcome> {
    if (this.cfg.readOnly) return { status: "refused", reason: "this connection is read-only" };
    const target = releaseTarget(lock, (f) => this.scope.releaseProblem(f));
    if ("refused" in target) return target.refused;
    const fence = target.fence;
    const h = fence.h;
    // The request's target names one holder of the holding seen (a semaphore slot); anything
    // else is refused.
    const ev = h.t === "sem" ? semaphoreEvictees(h, holderId) : [];
    if (ev === null || (h.t !== "sem" && holderId !== undefined && holderId !== String(h.s))) {
      return { status: "refused", reason: `${holderId} is not a holder in the holding you saw: nothing was sent` };
    }
    try {
      if (h.t === "kv" && mode === "delete") return await this.txnUnlock(fence.k, Number(h.mi), String(h.s), signal);
      if (h.t === "kv" && mode === "destroy-session")
        return await this.destroySession(String(h.s), fence.k, () => this.txnUnlock(fence.k, Number(h.mi), String(h.s), signal), signal);
      if (h.t === "sem" && mode === "delete") return await this.evict(fence.k, Number(h.mi), ev, signal);
      if (h.t === "sem" && mode === "destroy-session") {
        if (ev.length !== 1)
          return { status: "refused", reason: "destroying a session needs one holder: name it (target), or the semaphore must have exactly one" };
        return await this.destroySession(ev[0][1], ev[0][0], () => this.evict(fence.k, Number(h.mi), ev, signal), signal);
      }
      return { status: "refused", reason: h.t === "none" ? "nothing exact to release for this record" : `mode ${mode} does not apply to this lock` };
    } catch (err) {
      // Only a mutating request without a clear answer leaves the outcome unknown (mutate()).
      if (err instanceof Unanswered) return { status: "unknown", reason: `no clear answer after sending: ${err.message}` };
      if (err instanceof ConsulError && err.code === "forbidden") return { status: "denied", reason: `Consul: ${err.message}` };
      if (err instanceof ConsulError && err.code === "bad-path") return { status: "refused", reason: `${err.message}: nothing was sent` };
      if (err instanceof ConsulError && !err.sent) return { status: "refused", reason: `Consul unreachable, nothing was sent: ${err.message}` };
      return { status: "refused", reason: `reading the lock before the release failed, nothing was sent: ${(err as Error).message}` };
    }
  }

  /**
   * The one way a release writes: a mutating PUT (txn, session destroy). Its failure without a
   * clear answer is Unanswered (the outcome is unknown) — unless the request provably never left,
   * or Consul refused it on its ACLs (403): nothing changed then.
   */
  private async mutate(path: string, signal: AbortSignal, body?: string): Promise<ConsulAnswer> {
    let a: ConsulAnswer;
    try {
      a = await this.http.request("PUT", path, { body, signal });
    } catch (err) {
      if (err instanceof ConsulError && !err.sent) throw err;
      throw new Unanswered((err as Error).message);
    }
    return a;
  }

  /** (a) one /v1/txn: check-index + check-session + unlock, resending the value and flags at that index. */
  private async txnUnlock(key: string, mi: number, session: string, signal: AbortSignal): Promise<ReleaseOutcome> {
    const now = (await readKey(this.http, key, signal, true)).entries[0];
    if (!now) return { status: "gone" };
    if (now.ModifyIndex !== mi || now.Session !== session) return this.changed(key, signal);
    const body = txnJson(unlockOps({ key, modifyIndex: mi, session }, now.Value ?? "", now.Flags));
    const a = await this.mutate("/v1/txn", signal, body);
    if (a.status === 200) return { status: "released", detail: `unlocked ${key} (LockIndex ${now.LockIndex} stays the fencing token); no lock-delay` };
    if (a.status === 409) return this.rolledBack(key, lockFence(key, mi, session), txnErrors(a.body.toString("utf8")), signal);
    throw afterSending(a);
  }

  /**
   * (b) destroy the session — only once it is proven to hold nothing outside the prefixes, and
   * only after the exact holding seen is ended by the same guarded txn as delete (`release`).
   * 1. One consistent read of the whole KV lists every key the session holds (Consul has no
   *    session → keys index); refused, nothing sent, if it cannot be read whole (bounds, ACL
   *    filtering) or if any of those keys is outside the prefixes.
   * 2. `release`: the guarded txn (kv: check-index + check-session + unlock; semaphore: the
   *    eviction's cas on .lock + check-session + delete). A stale fence is refused there
   *    exactly as in delete mode, and nothing is destroyed.
   * 3. PUT /v1/session/destroy. Not atomic with 1–2 (Consul's txn has no session operations):
   *    a key the session takes after the scan is released with it. If the destroy fails, the
   *    outcome is still "released" (the exact holding is gone), and the detail says so.
   */
  private async destroySession(session: string, heldKey: string, release: () => Promise<ReleaseOutcome>, signal: AbortSignal): Promise<ReleaseOutcome> {
    const held = await readHeldBy(this.http, this.cfg, session, signal);
    if ("cannot" in held)
      return {
        status: "refused",
        reason: `cannot prove what session ${session} holds outside this connection's prefixes: ${held.cannot}. Nothing was sent; delete ends only this lock`,
      };
    const outside = held.keys.filter((k) => !this.scope.underPrefixes(k));
    if (outside.length) {
      return {
        status: "refused",
        // Counted, never named: the connection's scope is also what it may show.
        reason: `mode: session ${session} also holds ${outside.length} key(s) outside this connection's prefixes (${this.cfg.prefixes.join(", ")}; not named here); destroying it would release them. Nothing was sent; delete ends only this lock`,
      };
    }
    const info = this.sessionsById.get(session) ?? (await readSession(this.http, session, signal));
    const released = await release();
    if (released.status !== "released") return released;
    const others = held.keys.filter((k) => k !== heldKey);
    const scanned = `at the check it held ${held.keys.length} key(s), all under the prefixes: ${keyList(held.keys)}`;
    let a: ConsulAnswer;
    try {
      a = await this.mutate(`/v1/session/destroy/${encodeURIComponent(session)}`, signal);
    } catch (err) {
      const how = err instanceof Unanswered ? "got no clear answer" : "failed";
      return {
        status: "released",
        detail: `${released.detail}; then destroying session ${session} ${how} (${(err as Error).message}): it may still hold its other keys; ${scanned}`,
      };
    }
    if (a.status !== 200) {
      return {
        status: "released",
        detail: `${released.detail}; then destroying session ${session} failed (${errorFromAnswer(a).message}): it may still hold its other keys; ${scanned}`,
      };
    }
    const delay = info?.LockDelay !== undefined ? `${Math.round(info.LockDelay / 1e6)} ms` : "the session's";
    const rest = others.length
      ? `its other ${others.length} key(s) ${info?.Behavior === "delete" ? "deleted" : "released"} by the destroy, lock-delay ${delay} on them`
      : "it held no other key";
    return { status: "released", detail: `${released.detail}; destroyed session ${session} (${scanned}; ${rest})` };
  }

  /** (c) semaphore: CAS-rewrite .lock without the holders seen and delete their contender keys, atomically. */
  private async evict(lockKey: string, mi: number, ev: Array<[string, string, number]>, signal: AbortSignal): Promise<ReleaseOutcome> {
    if (ev.length === 0 || 1 + 2 * ev.length > MAX_TXN_OPS) return { status: "refused", reason: "no holders to evict, or too many for one transaction" };
    const now = (await readKey(this.http, lockKey, signal, true)).entries[0];
    if (!now) return { status: "gone" };
    const value = parseSemaphoreValue(valueBytes(now));
    if (now.ModifyIndex !== mi || !value) return this.changed(lockKey, signal);
    const ops = evictOps({ lockKey, lockModifyIndex: mi, limit: value.limit, flags: now.Flags, holdersNow: value.holders, evict: ev.map(([k, s]) => [k, s]) });
    const a = await this.mutate("/v1/txn", signal, txnJson(ops));
    if (a.status === 200) return { status: "released", detail: `evicted ${ev.length} holder(s): ${ev.map(([, s]) => s).join(", ")}` };
    if (a.status === 409) return this.rolledBack(lockKey, null, txnErrors(a.body.toString("utf8")), signal);
    throw afterSending(a);
  }

  /**
   * A txn rolled back (409). Consul reports ACL denials inside a txn this way too, so it is
   * "changed" only when the lock really changed; "not permitted" and anything else is refused.
   */
  private async rolledBack(lockKey: string, seen: string | null, errors: string, signal: AbortSignal): Promise<ReleaseOutcome> {
    if (/permission denied|ACL not found/i.test(errors)) return { status: "denied", reason: `Consul rolled the transaction back: ${errors}` };
    let out: ReleaseOutcome;
    try {
      out = await this.changed(lockKey, signal);
    } catch (err) {
      return {
        status: "refused",
        reason: `Consul rolled the transaction back (nothing changed: ${errors}); re-reading the lock then failed: ${(err as Error).message}`,
      };
    }
    if (out.status === "changed" && seen !== null && out.current && holdingOf(out.current) === seen) {
      return { status: "refused", reason: `Consul rolled the transaction back although the lock is unchanged: ${errors}` };
    }
    return out;
  }

  private async changed(lockKey: string, signal: AbortSignal): Promise<ReleaseOutcome> {
    const { locks } = await this.reread([lockKey], signal);
    const current = locks.find((l) => l.key === lockKey) ?? null;
    if (!current) return { status: "gone" };
    return { status: "changed", current };
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

/** "last heard from a leader 84.3 s ago", from X-Consul-LastContact (ms). */
function contactText(ms: number | null): string {
  if (ms === null) return "with no X-Consul-LastContact";
  return `last heard from a leader ${ms < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`} ago`;
}

/**
 * A judged holder as a signature compares it: its state and reason, so a check that starts or
 * stops failing is shown (named in the reason) even when the state stays "alive".
 */
function stateOf(l: Liveness): string {
  return `${l.state}\u0001${l.reason}`;
}

/** A lock's holders' states (each session judged by the checks it is bound to), for telling when one changed. */
function healthSig(holders: Holder[], memo: SigMemo): string {
  let sig = "";
  for (const x of holders) {
    if (!x.session) continue;
    let part = memo.parts.get(x.session.id);
    if (part === undefined) memo.parts.set(x.session.id, (part = `${x.session.id}:${stateOf(memo.judge(x.session.id, x.session.node))}`));
    sig = sig ? `${sig},${part}` : part;
  }
  return sig;
}

/**
 * One node-health read's judge (each node and binding judged once) and each session's part of
 * the signature: 100k locks held by a few hundred sessions build each part once (a session's
 * node and checks never change).
 */
interface SigMemo {
  health: NodeHealth;
  judge: NodeJudge;
  /** session id → its part */
  parts: Map<string, string>;
}

function sigMemo(health: NodeHealth, sessions: ReadonlyMap<string, ConsulSession>): SigMemo {
  return { health, judge: nodeJudge(health, sessions), parts: new Map() };
}

/** Entries by key (a later list's entry wins). */
function keyed(lists: ConsulEntry[][]): Map<string, ConsulEntry> {
  const m = new Map<string, ConsulEntry>();
  for (const list of lists) for (const e of list) m.set(e.Key, e);
  return m;
}

/** A mutating request sent without a clear answer: its effect is not known. */
class Unanswered extends Error {
  override readonly name = "Unanswered";
}

/** The error for a mutation's non-2xx answer other than 409: a 403 changed nothing, anything else may have. */
function afterSending(a: ConsulAnswer): Error {
  const err = errorFromAnswer(a);
  return err.code === "forbidden" ? err : new Unanswered(err.message);
}

/** Keys for a message: the first 10, each cut to 120 characters, then how many more. */
function keyList(keys: string[]): string {
  const cut = (k: string) => JSON.stringify(k.length > 120 ? `${k.slice(0, 120)}…` : k);
  return keys.slice(0, 10).map(cut).join(", ") + (keys.length > 10 ? ` and ${keys.length - 10} more` : "");
}

/** The identity of a single-key holding, as the fence records it. */
function lockFence(key: string, mi: number, session: string): string {
  return JSON.stringify([key, mi, session]);
}

function holdingOf(rec: LockRecord): string | null {
  const h = rec.holding;
  return h.t === "kv" ? lockFence(rec.key, Number(h.mi), String(h.s)) : null;
}
