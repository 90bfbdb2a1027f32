// What a ZooKeeper connection may touch: lock directories under its roots, and for a release
// only nodes inside the lock's own directory. Pure; checked before any call to ZooKeeper.

import type { KeyProblem } from "../../model";
import type { Fence } from "../../fence";
import { targetOf } from "./release";

// ZooKeeper's own PathUtils.validatePath: characters the server refuses in a path.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/;

/** Why ZooKeeper would refuse this as a path, in its own rules; null when it is a valid path. */
export function zkPathProblem(path: string): string | null {
  if (!path.startsWith("/")) return "is not an absolute znode path";
  if (path === "/") return null;
  if (path.endsWith("/")) return "ends with /";
  if (FORBIDDEN.test(path)) return "contains a character ZooKeeper forbids in paths (NUL, control or reserved)";
  for (const seg of path.slice(1).split("/")) {
    if (seg === "") return "has an empty segment (//)";
    if (seg === "." || seg === "..") return `has a "${seg}" segment: ZooKeeper paths are never relative`;
  }
  return null;
}

export function within(root: string, path: string): boolean {
  return root === "/" || path === root || path.startsWith(root + "/");
}

/** A lock key is a valid path strictly under one of the roots (roots themselves are never locks). */
export function zkKeyProblem(roots: readonly string[], key: string): KeyProblem | null {
  const bad = zkPathProblem(key);
  if (bad) return { code: "bad_key", message: `key: ${JSON.stringify(key.slice(0, 200))} ${bad}` };
  if (!roots.some((r) => within(r, key) && key !== r)) {
    return { code: "out_of_scope", message: `key: ${JSON.stringify(key.slice(0, 200))} is not under this connection's roots (${roots.join(", ")})` };
  }
  return null;
}

/**
 * Every node a release would write or delete must be the lock's directory itself (a lone
 * ephemeral, an empty parent) or inside it, and the directory must be in scope.
 */
export function zkReleaseProblem(roots: readonly string[], fence: Fence): string | null {
  const key = zkKeyProblem(roots, fence.k);
  if (key) return key.message;
  const target = targetOf(fence.h);
  const paths =
    target.t === "delete" ? [...target.nodes.map((n) => n.path), ...(target.revoke ? [target.revoke.path] : [])] : target.t === "empty" ? [target.path] : [];
  for (const p of paths) {
    const bad = zkPathProblem(p);
    if (bad) return `fence: node ${JSON.stringify(p.slice(0, 200))} ${bad}`;
    if (p !== fence.k && !p.startsWith(fence.k + "/")) return `fence: node ${JSON.stringify(p.slice(0, 200))} is not inside the lock ${fence.k}`;
  }
  if (target.t === "empty" && target.path !== fence.k) return "fence: the empty parent is not the lock itself";
  return null;
}
