// The ZooKeeper store adapter: discovery under the root paths (sync() first, unless the
// connection reads locally), decoding, watches, and version-checked force-release.
// Only this folder imports the ZooKeeper client (node-zookeeper-client, see client.ts).
//
// Sessions: one ZooKeeper session per connection. A reconnect keeps the session (the library
// re-registers our watches) but the feed still asks the hub to re-list; an expired session is
// replaced by a new one, which has no watches, so the next read re-arms them all.

import {
  UNREAD_PREFIX,
  type Health,
  type LockRecord,
  type LockView,
  type LockSnapshot,
  type Problem,
  type ReleaseMode,
  type ReleaseOutcome,
  type ReleasePlan,
  type StoreAdapter,
  type StoreChange,
} from "../../model";
import { decodeFence } from "../../fence";
import { releaseTarget } from "../release-target";
import { decodeZooKeeper, ZOOKEEPER_FORMATS, type ZkDecodeContext } from "../../formats/zookeeper";
import { baseName, parentOf } from "../../formats/zookeeper/entry";
import { SEMAPHORE_DIRS, classifyDir } from "../../formats/zookeeper/names";
import type { ZooKeeperConnectionConfig } from "./config";
import { consistencyLabel } from "./config";
import { DeadlineError, ZK, ZkError, ZkSession } from "./client";
import { TOO_MANY_NODES, Walker, type DirInfo } from "./discover";
import { WatchSet } from "./watch";
import { REVOKE_MESSAGE, describe, targetOf, type Target } from "./release";
import { describeServer, hasMultiRead, parseSrvr, srvr, type ServerInfo } from "./server-info";
import { within, zkKeyProblem, zkPathProblem, zkReleaseProblem } from "./scope";
import { ConsReader, parseEnsembleConfig, serversOf, type Ensemble } from "./liveness";
import { applyLiveness, holderSessions, livenessOf } from "../../formats/zookeeper/liveness";
import { startTicks } from "../ticks";
import { probe } from "../probe";

const SERVER_INFO_MAX_AGE_MS = 5_000;
/** How long a health check waits for its round trip (as Redis, etcd and Consul do). */
const HEALTH_TIMEOUT_MS = 3_000;
/** The ensemble's own member list (ZooKeeper 3.5+; empty on a standalone server). */
const CONFIG_NODE = "/zookeeper/config";
/** How long a member list is reused (members change only by a reconfig or a rolling change of zoo.cfg). */
const ENSEMBLE_MAX_AGE_MS = 30_000;

export class ZooKeeperAdapter implements StoreAdapter {
  readonly kind = "zookeeper" as const;
  readonly formats = ZOOKEEPER_FORMATS;
  private session: ZkSession;
  private readonly watches: WatchSet;
  private live = false;
  /** Lock keys last read, directories last listed, and which lock a helper dir belongs to. */
  private known = new Set<string>();
  private dirs = new Map<string, DirInfo>();
  private owner = new Map<string, string>();
  private serverInfo: (ServerInfo & { at: number }) | null = null;
  private ensembleRead: { at: number; value: Ensemble } | null = null;
  private closed = false;
  /** Holder liveness from the servers' cons (null: livenessCheckMs 0). */
  private readonly cons: ConsReader | null;
  /** Per lock key: its holders' sessions and their liveness states as last decoded. */
  private holderLiveness = new Map<string, { sessions: string[]; states: string }>();
  /**
   * Every holder session's liveness when the stored states were last all confirmed; while a
   * check finds the same, it walks no lock (10k locks: ~2 MB of garbage a check otherwise).
   * null: walk at the next check.
   */
  private confirmedStates: string | null = null;

  constructor(
    private readonly id: string,
    private readonly cfg: ZooKeeperConnectionConfig,
  ) {
    this.watches = new WatchSet((path, kind) => this.keyFor(kind === "data" ? parentOf(path) : path));
    this.session = this.open();
    this.cons =
      cfg.livenessCheckMs > 0
        ? new ConsReader(serversOf(cfg.connectString), { maxAgeMs: 2_000, graceMs: cfg.holderGoneMs, timeoutMs: 2_000, ensemble: () => this.ensemble() })
        : null;
  }

  private open(): ZkSession {
    const s = new ZkSession(
      {
        connectString: this.cfg.connectString,
        sessionTimeoutMs: this.cfg.sessionTimeoutMs,
        auth: this.cfg.digest ? [{ scheme: "digest", credentials: this.cfg.digest }] : [],
      },
      this.cfg.commandTimeoutMs,
    );
    // Per session: a new session's first "connected" is no reconnect. Its predecessor's expiry
    // has already asked for the one re-list it needs; a second one would walk every root again.
    let dropped = false;
    s.onState((state) => {
      if (state === "disconnected") dropped = true;
      else if (state === "connected" && dropped) this.watches.resync();
      else if (state === "expired" && !this.closed && this.session === s) {
        // A dead session stays dead: open a new one. Its watches are gone, so re-list.
        s.close();
        this.session = this.open();
        this.watches.sessionLost();
      }
    });
    return s;
  }

  updateMode() {
    return this.live ? { mode: "live" as const } : { mode: "polling" as const, intervalMs: this.cfg.pollIntervalMs };
  }

  keyProblem(key: string) {
    return zkKeyProblem(this.cfg.roots, key);
  }

  private get consistency(): string {
    const s = this.serverInfo;
    const by = s ? ` · answered by ${s.address} (${s.mode || "mode unknown"})` : "";
    return consistencyLabel(this.cfg.consistency) + by;
  }

  /** Which server answers this session, and its mode (srvr), refreshed when stale or moved. */
  private async refreshServer(): Promise<ServerInfo | null> {
    const address = this.session.server;
    if (!address) return this.serverInfo;
    const cached = this.serverInfo;
    if (cached && cached.address === address && Date.now() - cached.at < SERVER_INFO_MAX_AGE_MS) return cached;
    let info: ServerInfo;
    try {
      info = parseSrvr(address, await srvr(address));
    } catch (err) {
      info = { address, mode: "", version: "", note: (err as Error).message };
    }
    this.serverInfo = { ...info, at: Date.now() };
    return info;
  }

  /**
   * A round trip, not the session's state: the client notices a silent connection (a black hole,
   * a server that stopped answering) only after its read timeout, 2/3 of the session timeout
   * (10 s at the default 15 s), and a slow server never. exists("/") must come back within
   * HEALTH_TIMEOUT_MS; a later answer (the request's own deadline is the command timeout) is
   * handed to the hub as `late`, which shows the store slow rather than down.
   */
  async health(signal?: AbortSignal): Promise<Health> {
    const session = this.session;
    const state = session.state;
    if (state !== "connected") {
      return { status: "unreachable", message: `ZooKeeper session ${state} (${this.cfg.connectString})` };
    }
    const probed = await probe(session.exists("/"), HEALTH_TIMEOUT_MS, signal ?? new AbortController().signal, (err) => `exists /: ${(err as Error).message}`);
    if (!probed.ok) {
      const message = `ZooKeeper ${session.server ?? this.cfg.connectString} did not answer: ${probed.message}`;
      return { status: "unreachable", message, ...(probed.late ? { late: probed.late } : {}) };
    }
    const info = await this.refreshServer();
    if (!info) return { status: "ok", message: "" };
    return { status: "ok", message: info.note ?? "", server: describeServer(info) };
  }

  /**
   * Who is in the ensemble, for holder liveness: /zookeeper/config (ZooKeeper 3.5+, read past any
   * chroot) lists every member; it is empty on a standalone server. Without it (3.4) a server
   * whose srvr says standalone is the whole ensemble; anything else is unknown, and no holder is
   * judged dead. A member list read is kept for ENSEMBLE_MAX_AGE_MS, and used as it is while the
   * session is not connected (cons does not need the session).
   */
  private async ensemble(): Promise<Ensemble> {
    const cached = this.ensembleRead;
    if (cached && (Date.now() - cached.at < ENSEMBLE_MAX_AGE_MS || this.session.state !== "connected")) return cached.value;
    let why: string;
    try {
      const members = parseEnsembleConfig(await this.session.getConfig());
      if (members.length > 0) return this.keepEnsemble({ members });
      why = `${CONFIG_NODE} lists no server`;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === ZK.NO_NODE)) return cached?.value ?? { unknown: `${CONFIG_NODE}: ${(err as Error).message}` };
      why = `no ${CONFIG_NODE} (ZooKeeper before 3.5)`;
    }
    const info = await this.refreshServer();
    if (info?.mode === "standalone") return this.keepEnsemble({ standalone: true });
    return { unknown: `${why}, and srvr says ${info?.mode ? `"${info.mode}"` : "no mode"}, not standalone` };
  }

  private keepEnsemble(value: Ensemble): Ensemble {
    this.ensembleRead = { at: Date.now(), value };
    return value;
  }

  private walker(signal: AbortSignal, ctx: ZkDecodeContext): Walker {
    return new Walker(
      this.session,
      { maxChildren: this.cfg.maxChildren, maxDepth: this.cfg.maxDepth, maxNodes: this.cfg.maxNodes },
      this.cfg.watch ? this.watches : null,
      signal,
      ctx,
      // The server the session talks to now, as srvr last named it (prepare() refreshes it when
      // the session moved); a server that refused one anyway is not asked again.
      this.serverInfo?.address === this.session.server && hasMultiRead(this.serverInfo.version) && !this.session.multiReadRefused,
    );
  }

  /** sync() makes the connected server catch up with the leader before we read. */
  private async prepare(signal: AbortSignal, paths: string[]): Promise<void> {
    await this.session.connected(signal);
    const roots = new Set(paths.map((p) => rootOf(this.cfg.roots)(p) ?? "/"));
    if (this.cfg.consistency === "sync") await Promise.all([...roots].map((p) => this.session.sync(p)));
    await this.refreshServer();
  }

  /** Previews (escaped node data) only for re-reads: the table never shows them (lib/formats/types.ts). */
  private decodeContext(started: number, previews: boolean): ZkDecodeContext {
    return {
      connection: this.id,
      consistency: this.consistency,
      now: started,
      observedAtIso: new Date(started).toISOString(),
      previews,
      roots: this.cfg.roots,
    };
  }

  async snapshot(signal: AbortSignal): Promise<LockSnapshot> {
    const started = Date.now();
    this.watches.relisting();
    await this.prepare(signal, this.cfg.roots);
    const ctx = this.decodeContext(started, false);
    const w = this.walker(signal, ctx);
    const missing: Problem[] = [];
    for (const root of this.cfg.roots) {
      if (await w.visit(root, 0)) continue;
      missing.push({ key: root, code: "root-missing", message: `${root} does not exist (yet): no locks under it` });
      await this.watchCreation(root);
    }
    // A walk cut short at maxNodes read only part of the roots. Stale beats partial: the hub keeps
    // the locks it did not reach as last read (UNREAD_PREFIX), warned, instead of dropping them.
    if (w.out.problems.some((p) => p.code === TOO_MANY_NODES))
      for (const root of this.cfg.roots)
        missing.push({ key: root, code: UNREAD_PREFIX, message: `the walk stopped at maxNodes (${this.cfg.maxNodes}) before it read all of ${root}` });
    // Locks were found: applyLiveness will ask cons, so its answer can come while the decode runs.
    if (w.out.decoded.size > 0) this.cons?.prefetch();
    const { locks, problems } = decodeZooKeeper(w.out.nodes, ctx, w.out.decoded);
    await this.applyLiveness(locks);
    this.holderLiveness = new Map();
    this.rememberLiveness(locks);
    this.known = new Set(locks.map((l) => l.key));
    this.dirs = w.out.dirs;
    this.owner = ownersOf(locks);
    return { locks, problems: [...missing, ...w.out.problems, ...problems], observedAt: new Date(started).toISOString(), consistency: this.consistency };
  }

  /**
   * Re-reads what is behind changed paths. A lock directory (or an unknown path) is read with its
   * subtree; a plain directory we listed before is listed again and only its new children are
   * read, so a new lock under /locks does not re-walk every other lock.
   */
  async reread(keys: string[], signal: AbortSignal) {
    const started = Date.now();
    // Only valid paths under the roots are ever sent to ZooKeeper (scope.ts).
    const targets = [...new Set(keys.map((k) => this.keyFor(k)))].filter((k) => !zkPathProblem(k));
    await this.prepare(
      signal,
      targets.filter((k) => underRoots(this.cfg.roots, k)),
    );
    const ctx = this.decodeContext(started, true);
    const w = this.walker(signal, ctx);
    const scopes: string[] = [];
    for (const key of targets) {
      if (!underRoots(this.cfg.roots, key)) continue;
      const dir = this.dirs.get(key);
      if (dir?.kind === "other" && dir.children.length > 0 && !this.known.has(key) && (await this.relist(key, dir, w, scopes))) continue;
      scopes.push(key);
      if (!(await w.visit(key, depthUnder(this.cfg.roots, key))) && this.cfg.roots.includes(key)) await this.watchCreation(key);
      // A kazoo semaphore's waiters queue on its "-__lock__" sibling.
      if (this.dirs.get(key)?.kind === "kazoo-semaphore" || w.out.dirs.get(key)?.kind === "kazoo-semaphore" || this.known.has(`${key}-__lock__`)) {
        await w.visit(`${key}-__lock__`, depthUnder(this.cfg.roots, key));
      }
    }
    const { locks, problems } = decodeZooKeeper(w.out.nodes, ctx, w.out.decoded);
    const inScope = (k: string) => scopes.some((s) => k === s || k.startsWith(s === "/" ? "/" : s + "/"));
    const found = locks.filter((l) => inScope(l.key));
    await this.applyLiveness(found);
    this.rememberLiveness(found);
    for (const k of [...this.known]) if (inScope(k) && !found.some((l) => l.key === k)) this.holderLiveness.delete(k);
    const foundKeys = new Set(found.map((l) => l.key));
    const gone = [...this.known].filter((k) => inScope(k) && !foundKeys.has(k));
    for (const k of gone) this.known.delete(k);
    for (const l of found) this.known.add(l.key);
    for (const [p, d] of w.out.dirs) this.dirs.set(p, d);
    for (const [k, v] of ownersOf(found)) this.owner.set(k, v);
    return { locks: found, gone, problems: [...w.out.problems, ...problems] };
  }

  /** A root path that does not exist yet: an exists() watch tells us when it is created. */
  private async watchCreation(root: string): Promise<void> {
    if (!this.cfg.watch) return;
    const stat = await this.session.exists(root, this.watches.child(root)).catch((err) => {
      this.watches.forget("child", root);
      throw err;
    });
    // Created between our read and the watch: the watch is set on the node now; re-read it.
    if (stat) this.watches.resync();
  }

  /** Lists a plain directory again; reads only children that are new; scopes removed ones as gone. */
  private async relist(key: string, before: DirInfo, w: Walker, scopes: string[]): Promise<boolean> {
    let now: string[];
    try {
      ({ children: now } = await this.session.getChildren(key, this.cfg.watch ? this.watches.child(key) : undefined));
    } catch (err) {
      this.watches.forget("child", key);
      if (err instanceof ZkError && err.code === ZK.NO_NODE) return false;
      throw err;
    }
    // Empty now (it may be a left-behind parent), or its children are lock nodes now: read it whole.
    if (now.length === 0 || classifyDir(now).kind !== "other") return false;
    const was = new Set(before.children);
    const is = new Set(now);
    for (const name of before.children) if (!is.has(name)) scopes.push(join(key, name));
    this.dirs.set(key, { ...before, children: now });
    const depth = depthUnder(this.cfg.roots, key) + 1;
    for (const name of now) {
      if (was.has(name)) continue;
      scopes.push(join(key, name));
      await w.visit(join(key, name), depth);
    }
    return true;
  }

  /** The lock a changed path belongs to: a semaphore's leases/ and locks/, a kazoo "-__lock__" sibling. */
  private keyFor(path: string): string {
    const owned = this.owner.get(path);
    if (owned) return owned;
    if (SEMAPHORE_DIRS.includes(baseName(path)) && this.dirs.get(parentOf(path))?.kind === "curator-semaphore") return parentOf(path);
    return path;
  }

  async *watch(signal: AbortSignal): AsyncGenerator<StoreChange> {
    if (!this.cfg.watch) throw new Error("watches are off in the connection config");
    this.live = true;
    // A holder's client leaving shows in no watch: the servers' cons is checked on a timer.
    const stopTicks = this.cons
      ? startTicks(
          (s) => this.checkLiveness(s),
          this.cfg.livenessCheckMs,
          signal,
          (keys) => this.watches.changed(keys),
        )
      : null;
    try {
      yield* this.watches.feed(signal);
    } finally {
      stopTicks?.();
      this.live = false;
    }
  }

  /** Holder liveness from cons, on fresh records; a failed cons read leaves them without it. */
  private async applyLiveness(locks: LockRecord[]): Promise<void> {
    if (!this.cons || locks.length === 0) return;
    try {
      applyLiveness(locks, await this.cons.facts(this.allHolderSessions(holderSessions(locks))));
    } catch {
      // cons unreadable right now: liveness is simply not shown
    }
  }

  private allHolderSessions(extra: Iterable<string>): Set<string> {
    const all = new Set(extra);
    this.holderLiveness.forEach(({ sessions }) => {
      for (let i = 0; i < sessions.length; i++) all.add(sessions[i]);
    });
    return all;
  }

  private rememberLiveness(locks: LockRecord[]): void {
    this.confirmedStates = null;
    for (const l of locks) {
      const held = l.holders.filter((h) => h.session?.id);
      this.holderLiveness.set(l.key, { sessions: held.map((h) => h.session!.id), states: held.map((h) => h.liveness?.state ?? "-").join(",") });
    }
  }

  /** Live check: locks whose holders' liveness changed (left every server, came back), for the hub to re-read. */
  private async checkLiveness(_signal: AbortSignal): Promise<string[]> {
    if (!this.cons || this.holderLiveness.size === 0) return [];
    const all = this.allHolderSessions([]);
    const facts = await this.cons.facts(all, true);
    const changed: string[] = [];
    let now = "";
    for (const s of all) now += `${s}:${livenessOf(s, facts).state},`;
    if (now === this.confirmedStates) return changed;
    for (const [key, { sessions, states }] of this.holderLiveness) {
      if (sessions.length && sessions.map((s) => livenessOf(s, facts).state).join(",") !== states) changed.push(key);
    }
    // Confirmed only when nothing differs: a changed lock's new states come with its re-read.
    this.confirmedStates = changed.length ? null : now;
    return changed;
  }

  async forceRelease(lock: LockView, mode: ReleaseMode, signal: AbortSignal): Promise<ReleaseOutcome> {
    if (this.cfg.readOnly) return { status: "refused", reason: "this connection is read-only" };
    // Every node the fence names must lie inside the lock's directory, under a root.
    const checked = releaseTarget(lock, (f) => zkReleaseProblem(this.cfg.roots, f));
    if ("refused" in checked) return checked.refused;
    const fence = checked.fence;
    const target = targetOf(fence.h);
    if (this.session.state !== "connected")
      return { status: "refused", reason: `not connected to ZooKeeper (session ${this.session.state}): nothing was sent` };
    try {
      if (mode === "delete" && target.t === "delete") return await this.deleteHolders(fence.k, target, signal);
      if (mode === "ask-holder" && target.t === "delete" && target.revoke) {
        await this.session.setData(target.revoke.path, Buffer.from(REVOKE_MESSAGE), target.revoke.version);
        return {
          status: "released",
          detail: `asked the holder to release: wrote ${REVOKE_MESSAGE} to ${target.revoke.path}. Nothing was deleted; its revocation listener decides.`,
        };
      }
      if (mode === "prune-empty" && target.t === "empty") return await this.prune(fence.k, target, signal);
    } catch (err) {
      return this.failed(fence.k, err, signal);
    }
    return { status: "refused", reason: `"${mode}" does not apply to this lock (${fence.f})` };
  }

  private async deleteHolders(key: string, target: Extract<Target, { t: "delete" }>, signal: AbortSignal): Promise<ReleaseOutcome> {
    // delete(path, version) checks the version only, and a node made again at the same path
    // starts at version 0 again (a lone ephemeral lock taken anew): its czxid tells the nodes
    // apart. Checked first; only a re-creation within this one round trip could still slip by.
    const stats = await Promise.all(target.nodes.map((n) => this.session.exists(n.path)));
    if (stats.some((st, i) => st !== null && st.czxid !== target.nodes[i].czxid)) return this.changed(key, signal);
    if (target.nodes.length === 1) await this.session.remove(target.nodes[0].path, target.nodes[0].version);
    else {
      try {
        await this.session.removeAll(target.nodes);
      } catch (err) {
        // One node of several gone: "already released" only if none of them is left.
        if (err instanceof ZkError && err.code === ZK.NO_NODE) {
          const present = await Promise.all(target.nodes.map((n) => this.session.exists(n.path)));
          if (present.every((s) => s === null)) return { status: "gone" };
          return this.changed(key, signal);
        }
        throw err;
      }
    }
    return { status: "released", detail: `deleted ${target.nodes.map((n) => n.path).join(", ")}` };
  }

  /**
   * Deletes the fenced empty lock parent and nothing else (no parent above it: those were never
   * shown, and may hold data). First checks it is the node as seen and still unused: delete(path,
   * version) compares the data version only, which lock traffic never changes.
   */
  private async prune(key: string, target: Extract<Target, { t: "empty" }>, signal: AbortSignal): Promise<ReleaseOutcome> {
    const stat = await this.session.exists(target.path);
    if (!stat) return { status: "gone" };
    if (stat.dataLength > 0)
      return { status: "refused", reason: `${target.path} holds ${stat.dataLength} bytes of data: not an empty lock parent; nothing was sent` };
    const used = (target.cversion !== undefined && stat.cversion !== target.cversion) || (target.czxid !== undefined && stat.czxid !== target.czxid);
    if (used || stat.numChildren > 0) return this.changed(key, signal);
    await this.session.remove(target.path, target.version);
    return { status: "released", detail: `deleted empty ${target.path}` };
  }

  /** "gone" when nothing holds or waits for the lock now, else "changed" with it as it is. */
  private async goneOrChanged(key: string, signal: AbortSignal): Promise<ReleaseOutcome> {
    try {
      const current = (await this.reread([key], signal)).locks.find((l) => l.key === key) ?? null;
      return current && (current.holders.length > 0 || current.waiters.length > 0) ? { status: "changed", current } : { status: "gone" };
    } catch {
      return { status: "changed", current: null };
    }
  }

  private async changed(key: string, signal: AbortSignal): Promise<ReleaseOutcome> {
    try {
      const { locks } = await this.reread([key], signal);
      return { status: "changed", current: locks.find((l) => l.key === key) ?? null };
    } catch {
      return { status: "changed", current: null };
    }
  }

  private async failed(key: string, err: unknown, signal: AbortSignal): Promise<ReleaseOutcome> {
    if (err instanceof DeadlineError) return { status: "unknown", reason: err.message };
    if (!(err instanceof ZkError)) return { status: "unknown", reason: (err as Error).message };
    switch (err.code) {
      case ZK.NO_NODE:
        // The node seen is gone, but the lock may be held by someone else now: say so.
        return this.goneOrChanged(key, signal);
      case ZK.BAD_VERSION:
      case ZK.NOT_EMPTY:
        return this.changed(key, signal);
      case ZK.NO_AUTH:
        return { status: "denied", reason: `ZooKeeper: ${err.message} (LockDeck's credentials need DELETE on ${parentOf(key)}, WRITE for ask-holder)` };
      default:
        return err.sent ? { status: "unknown", reason: err.message } : { status: "refused", reason: `${err.message}: nothing was sent` };
    }
  }

  describeRelease(lock: LockView, mode: ReleaseMode): ReleasePlan {
    const target = targetOf(decodeFence(lock.fence).h);
    const plan = describe(lock, target, mode, {
      connectString: this.cfg.connectString,
      readOnly: this.cfg.readOnly,
      consistency: consistencyLabel(this.cfg.consistency),
    });
    return { ...plan, title: titleOf(mode) };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.session.close();
  }
}

function titleOf(mode: ReleaseMode): string {
  if (mode === "ask-holder") return "Ask the holder to release: write Curator's __REVOKE__ marker to its node; nothing is deleted.";
  if (mode === "prune-empty") return "Delete this empty lock parent only, while it is still empty and unused since you looked.";
  return "Delete the holder's node(s), only if their versions are still the ones you saw; the next contender takes over.";
}

function ownersOf(locks: LockRecord[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of locks) for (const r of l.relatedKeys ?? []) m.set(r, l.key);
  return m;
}

function join(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

function underRoots(roots: string[], path: string): boolean {
  return roots.some((r) => within(r, path));
}

/** The (longest) root path a path lies under. */
function rootOf(roots: string[]): (path: string) => string | null {
  return (path) => roots.filter((r) => within(r, path)).sort((a, b) => b.length - a.length)[0] ?? null;
}

function depthUnder(roots: string[], path: string): number {
  const root = rootOf(roots)(path) ?? "/";
  const rest = path.slice(root === "/" ? 1 : root.length + 1);
  return rest ? rest.split("/").length : 0;
}
