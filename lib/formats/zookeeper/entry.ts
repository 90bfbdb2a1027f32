// What the ZooKeeper adapter reads, and what the ZooKeeper decoder consumes: a flat list of the
// znodes it visited under the connection's root paths, each with its Stat and data.
// Long Stat fields (zxids, session ids) stay exact: decimal strings for zxids, "0x…" hex for
// session ids, because they do not fit a JS number.

import { bytesFromJson, bytesToJson, type JsonBytes } from "../json-bytes";
export { bytesFromJson, bytesToJson, type JsonBytes };

/** ZooKeeper's Stat, with 64-bit fields as exact strings. */
export interface ZkStat {
  /** zxid of the create, decimal */
  czxid: string;
  mzxid: string;
  /** epoch ms */
  ctime: number;
  mtime: number;
  /** data version: delete(path, version) and setData(path, data, version) check it */
  version: number;
  /** child version: how many times the children changed (> 0: it once had children) */
  cversion: number;
  aversion: number;
  /** "0x…" session id of an ephemeral node's owner; "0x0" for a persistent node */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
  pzxid: string;
}

/**
 * An ephemeral node's owner is its session. Container and TTL nodes are NOT visible as such: the
 * server reports ephemeralOwner 0 for them to clients (captured: Curator's container parents read
 * "0x0"), so a left-behind lock parent is recognised by "no children, cversion > 0" instead.
 */
export function isEphemeral(stat: ZkStat): boolean {
  return stat.ephemeralOwner !== "0x0";
}

export interface ZkNode {
  /** Absolute path as the client sees it (inside the chroot, if any). */
  path: string;
  stat: ZkStat;
  /** The node's data as read (ZooKeeper returns it whole; at most 1 MiB by default). */
  data?: Buffer;
  /** True when the children were listed: every child then appears in the list too. */
  listed: boolean;
  /** Set when the children were NOT listed because numChildren was above this limit. */
  refusedAbove?: number;
}

export interface ZkFixtureNode {
  path: string;
  stat: ZkStat;
  data?: JsonBytes;
  listed: boolean;
  refusedAbove?: number;
}

export interface ZkFixture {
  capture: { library: string; version: string; scenario: string; program: string; server: string; capturedAt: string };
  /** epoch ms at the moment of the dump */
  now: number;
  /** the root the dump walked */
  root: string;
  nodes: ZkFixtureNode[];
}

export function nodeFromFixture(n: ZkFixtureNode): ZkNode {
  return { ...n, data: n.data === undefined ? undefined : bytesFromJson(n.data) };
}

export function nodeToFixture(n: ZkNode): ZkFixtureNode {
  return { ...n, data: n.data === undefined ? undefined : bytesToJson(n.data) };
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function joinPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}
