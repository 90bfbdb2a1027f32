// Building blocks of ZooKeeper lock records: contenders (a lock node with its parsed name),
// holders and waiters from them, fences and previews. Pure.

import type { Holder, Holding, LockKind, LockRecord, Waiter } from "../../model";
import type { DecodeContext } from "../types";
import { isUtf8 } from "node:buffer";
import { escapeControls } from "../../keys";
import { previewBytes } from "../preview";
import { ownerOfValue } from "../owner";
import { isoTime } from "../iso-time";
import { isEphemeral, type ZkNode } from "./entry";
import type { ParsedName } from "./names";

export interface ZkDecodeContext extends DecodeContext {
  /** The connection's root paths: never shown as locks themselves. */
  roots: string[];
}

export interface Contender {
  node: ZkNode;
  /** The node's name (the last part of its path): the holder's or waiter's id. */
  name: string;
  parsed: ParsedName;
}

/** Previews per record: the holders and the head of the queue are what an operator reads. */
const MAX_PREVIEWS = 4;
const OWNER_CHARS = 200;

/**
 * What the node data says about its writer, in words (a JSON object as its telling fields);
 * binary data is named, not decoded. `what` (e.g. "client address or id") says what the text
 * is: it goes in `ownerNote`, so holders read "10.0.0.7", not all the same long label.
 */
export function ownerText(node: ZkNode, what: string): { owner?: string; ownerNote?: string } {
  const data = node.data;
  if (!data || data.length === 0) return {};
  if (!isUtf8(data)) return { owner: `binary data (${data.length} bytes)` };
  const raw = data.toString("utf8");
  const owner = ownerOfValue(raw) ?? escapeControls(raw.slice(0, OWNER_CHARS));
  return what ? { owner, ownerNote: what } : { owner };
}

export function sessionOf(node: ZkNode): Holder["session"] | undefined {
  return isEphemeral(node.stat) ? { id: node.stat.ephemeralOwner } : undefined;
}

/** Owner keys of sessions met lately (a few sessions own most nodes); cleared at this many. */
const OWNER_KEYS_KEPT = 4_096;
const ownerKeys = new Map<string, string>();

/**
 * The session that owns an ephemeral contender node is its client; a persistent node has none.
 * One string per session, shared by its nodes' records (issue 13: one per contender cost the
 * snapshot's collections).
 */
export function sessionOwnerKey(node: ZkNode): string | undefined {
  if (!isEphemeral(node.stat)) return undefined;
  const id = node.stat.ephemeralOwner;
  let key = ownerKeys.get(id);
  if (key === undefined) {
    if (ownerKeys.size >= OWNER_KEYS_KEPT) ownerKeys.clear();
    ownerKeys.set(id, (key = `session:${id}`));
  }
  return key;
}

export function holderOf(c: Contender, what: string): Holder {
  return {
    id: c.name,
    ...ownerText(c.node, what),
    ownerKey: sessionOwnerKey(c.node),
    // ctime is recorded by the store: when the contender's node was created (for a holder that
    // queued first, the hub corrects it to when it took over: lib/hub/since.ts).
    since: isoTime(c.node.stat.ctime),
    sinceSource: "store",
    session: sessionOf(c.node),
  };
}

export function waitersOf(cs: Contender[], what: string, from = 1): Waiter[] {
  return cs.map((c, i) => ({
    id: c.name,
    position: from + i,
    since: isoTime(c.node.stat.ctime),
    sinceSource: "store",
    ...ownerText(c.node, what),
    ownerKey: sessionOwnerKey(c.node),
  }));
}

/** The exact nodes a release deletes: [path, version, czxid] each (lib/stores/zookeeper/release.ts). */
export function releaseHolding(holders: ZkNode[], revocable: ZkNode | null): Holding {
  if (holders.length === 0) return { t: "none" };
  return {
    t: "zk",
    nodes: JSON.stringify(holders.map((n) => [n.path, n.stat.version, n.stat.czxid])),
    revoke: revocable ? JSON.stringify([revocable.path, revocable.stat.version]) : null,
  };
}

export function baseRecord(ctx: ZkDecodeContext, dir: ZkNode, format: string, kind: LockKind, holding: Holding): LockRecord {
  return {
    connection: ctx.connection,
    key: dir.path,
    name: dir.path,
    format,
    kind,
    state: "free",
    holders: [],
    waiters: [],
    // ZooKeeper reports no remaining time for a session: the holder's ephemeral node lives as
    // long as its session, which the store does not expose per node.
    ttlMs: null,
    ttlSource: "zk-session",
    holding,
    observedAt: ctx.observedAtIso ?? new Date(ctx.now).toISOString(),
    consistency: ctx.consistency,
    warnings: [],
  };
}

/** Fills holders, waiters, state, fencing token, warnings and previews from ordered contenders. */
export function fill(rec: LockRecord, holders: Contender[], waiters: Contender[], what: string, all: ZkNode[] = [], previews = true): LockRecord {
  rec.holders = holders.map((c) => holderOf(c, what));
  rec.waiters = waitersOf(waiters, what);
  rec.state = holders.length > 0 ? "held" : "free";
  // czxid is ensemble-wide and only grows; the sequence restarts when a container parent is
  // reaped and re-created, so it is shown in the node name but not used as the token.
  if (holders.length === 1) rec.fencingToken = holders[0].node.stat.czxid;
  if (holders.some((c) => !isEphemeral(c.node.stat))) {
    // A persistent holder node outlives its session: nothing ever expires it.
    rec.warnings.push("no-expiry");
    rec.ttlSource = "none";
  }
  if ([...holders, ...waiters].some((c) => c.node.data && c.node.data.length > 0 && !isUtf8(c.node.data))) {
    rec.warnings.push("binary-node-data");
  }
  if (!previews) return rec;
  const shown = all.length ? all : [...holders, ...waiters].map((c) => c.node);
  rec.raw = shown.slice(0, MAX_PREVIEWS).map((n) => previewBytes(n.path, "znode", n.data ?? Buffer.alloc(0), n.stat.dataLength, false));
  return rec;
}
