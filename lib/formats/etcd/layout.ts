// How an etcd key tells which lock library wrote it (lock-formats.md §2). Pure.
//
//   Go concurrency.Mutex / etcdctl lock / v3lock API   <pfx>/<lease id in lowercase hex>  value ""
//   Go concurrency.Election / etcdctl elect            <pfx>/<lease id in lowercase hex>  value = candidate value
//   npm etcd3 Election                                 election/<name>/<lease id in decimal>
//   npm etcd3 Lock                                     <key> exactly, lease attached, value ""
//
// A key is "go" or "js" only when its last path segment IS its own lease id (hex or decimal),
// so a look-alike name never passes. Anything else is "lone": an etcd3 Lock if it has a lease
// and an empty value, else not a lock layout.

import type { EtcdEntry } from "./entry";
import { leaseHex } from "./entry";

export type LayoutKind = "go" | "js" | "lone";
export type Layout = { kind: "go" | "js"; group: string } | { kind: "lone" };

export function classify(e: EtcdEntry): Layout {
  const kind = layoutKind(e);
  return kind === "lone" ? LONE : { kind, group: parentOf(e.key) };
}

/** classify(e).kind without the Layout object (the decoder asks it of 100k keys a snapshot); the group is parentOf(key). */
export function layoutKind(e: EtcdEntry): LayoutKind {
  if (e.lease === "0" || e.key.startsWith("base64:")) return "lone";
  const key = e.key;
  const slash = key.lastIndexOf("/");
  if (slash < 0) return "lone";
  // Compared in place (no suffix string per key).
  const tail = key.length - slash - 1;
  const hex = leaseHex(e.lease);
  if (tail === hex.length && key.endsWith(hex)) return "go";
  if (tail === e.lease.length && key.endsWith(e.lease)) return "js";
  return "lone";
}

const LONE: Layout = Object.freeze({ kind: "lone" });

/** Compares two decimal revision strings (non-negative, no leading zeros) numerically. */
export function compareRevision(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The key minus its last path segment, with the trailing "/" ("" when there is no "/"). */
export function parentOf(key: string): string {
  const slash = key.lastIndexOf("/");
  return slash < 0 ? "" : key.slice(0, slash + 1);
}
