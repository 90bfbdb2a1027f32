// Force-release on ZooKeeper (reliability.md §2.4), in three modes, each acting ONLY on the
// exact znodes and versions in the operator's fence:
//   delete      delete(path, version) of the holder node(s) (several: one multi, all or none).
//               The next contender is woken by its own watch on its predecessor.
//   ask-holder  Curator revocation: setData(path, "__REVOKE__", version) on a revocable holder's
//               node; the holder's RevocationListener decides. Nothing is deleted.
//   prune-empty delete(path, version) of an empty lock parent; ZooKeeper refuses (NotEmpty)
//               if a contender created a child meanwhile. Then empty ancestors up to the root.
// Version -1 ("any version") is never sent. This file holds the pure parts: fence parsing, the
// plan the dialog shows, and the zkCli.sh commands an operator could type instead.

import type { LockView, ReleaseMode, ReleasePlan } from "../../model";
import type { FenceHolding } from "../../fence";
import { parentOf } from "../../formats/zookeeper/entry";

/** Curator's LockInternals.REVOKE_MESSAGE. */
export const REVOKE_MESSAGE = "__REVOKE__";

export interface FenceNode {
  path: string;
  version: number;
  czxid: string;
}

export type Target =
  | { t: "delete"; nodes: FenceNode[]; revoke: { path: string; version: number } | null }
  /** cversion and czxid as seen (fences made before czxid was added carry none): the prune checks both first. */
  | { t: "empty"; path: string; version: number; cversion?: number; czxid?: string }
  | { t: "none" };

export function targetOf(h: FenceHolding): Target {
  if (h.t === "zk" && typeof h.nodes === "string") {
    const nodes = (JSON.parse(h.nodes) as Array<[string, number, string]>).map(([path, version, czxid]) => ({ path, version, czxid }));
    const revoke = typeof h.revoke === "string" ? (JSON.parse(h.revoke) as [string, number]) : null;
    return { t: "delete", nodes, revoke: revoke ? { path: revoke[0], version: revoke[1] } : null };
  }
  if (h.t === "zk-empty" && typeof h.p === "string" && typeof h.v === "number") {
    return {
      t: "empty",
      path: h.p,
      version: h.v,
      ...(typeof h.cv === "number" && { cversion: h.cv }),
      ...(typeof h.cz === "string" && { czxid: h.cz }),
    };
  }
  return { t: "none" };
}

export function modesFor(target: Target, readOnly: boolean): ReleaseMode[] {
  if (readOnly) return [];
  if (target.t === "delete") return target.revoke ? ["delete", "ask-holder"] : ["delete"];
  if (target.t === "empty") return ["prune-empty"];
  return [];
}

function q(s: string): string {
  return /^[A-Za-z0-9_./:@=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The zkCli.sh lines for the same conditional operations (3.5+ syntax: -v <version>). */
export function zkCliCommands(connectString: string, target: Target, mode: ReleaseMode): string {
  const cli = `zkCli.sh -server ${q(connectString)}`;
  if (target.t === "delete" && mode === "ask-holder" && target.revoke) {
    return `${cli} set -v ${target.revoke.version} ${q(target.revoke.path)} ${REVOKE_MESSAGE}`;
  }
  if (target.t === "delete") {
    const lines = target.nodes.map((n) => `${cli} delete -v ${n.version} ${q(n.path)}`);
    return lines.length > 1 ? `# zkCli has no multi(): LockDeck sends these as one atomic multi\n${lines.join("\n")}` : lines[0];
  }
  if (target.t === "empty") return `${cli} delete -v ${target.version} ${q(target.path)}`;
  return "(no conditional delete exists for this lock)";
}

export function describe(
  lock: LockView,
  target: Target,
  mode: ReleaseMode,
  ctx: { connectString: string; readOnly: boolean; consistency: string },
): ReleasePlan {
  const modes = modesFor(target, ctx.readOnly);
  const notes: string[] = [];
  let deletes = "nothing";
  let wakes: string | undefined;
  let holderNotified = false;
  const next = lock.waiters[0];
  if (target.t === "delete" && mode === "ask-holder" && target.revoke) {
    deletes = `nothing: writes ${REVOKE_MESSAGE} to ${target.revoke.path} while its version is still ${target.revoke.version}`;
    holderNotified = true;
    notes.push(
      "The holder made this lock revocable (Curator makeRevocable): its RevocationListener sees the marker and decides whether and when to release. Until it does, the lock stays held.",
    );
  } else if (target.t === "delete") {
    deletes = target.nodes.map((n) => `ZNODE ${n.path} while its version is still ${n.version} (czxid ${n.czxid})`).join("; ");
    if (target.nodes.length > 1) deletes += ` — ${target.nodes.length} holder nodes in one multi(): all or none`;
    // A sequential node's path is never used twice; a fixed path is, and starts at version 0 again.
    if (lock.format === "zk.ephemeral")
      notes.push(
        "ZooKeeper's delete is conditional on the version only: LockDeck compares the czxid just before sending it. A holder that deletes and re-creates this node within that moment (same path, version 0 again) would lose its new node.",
      );
    // A semaphore's waiting client (Curator's InterProcessSemaphoreV2, kazoo's Semaphore) watches
    // the leases, not a node ahead of it: it takes a lease once there is room.
    if (next)
      wakes =
        lock.kind === "semaphore"
          ? `the waiting contender ${next.id}: it watches the semaphore's leases and takes one itself once there is room`
          : `the next contender ${next.id}: it watches the node ahead of it and takes the lock itself`;
    const sessions = [...new Set(lock.holders.map((h) => h.session?.id).filter(Boolean))];
    notes.push(
      sessions.length
        ? `The holder's ZooKeeper session ${sessions.join(", ")} is still alive (its ephemeral node was there when read) and is NOT told: the recipe gives it no signal that its node is gone, so it may keep working until it next checks.`
        : "The holder node is persistent (not tied to a session): nothing would ever have released it.",
    );
    if (lock.warnings.includes("one-session-several-leases"))
      notes.push(
        "One session has several leases here (threads of one client share its session): the delete removes only the held leases named above, never a lease a client is waiting with. Which of its threads held them is not visible in ZooKeeper; that thread is not told, and a waiting thread of the same client may then take the permit.",
      );
    if (target.revoke)
      notes.push(`This holder made the lock revocable: "ask-holder" writes Curator's ${REVOKE_MESSAGE} marker instead, and lets the holder release it itself.`);
    notes.push(`ZooKeeper checks DELETE permission on the parent ${parentOf(target.nodes[0].path)}, not on the node: LockDeck's credentials need it there.`);
  } else if (target.t === "empty") {
    deletes = `EMPTY ZNODE ${target.path} only, while its version is still ${target.version}${target.cversion !== undefined ? ` and nothing used it since you looked (cversion ${target.cversion}${target.czxid ? `, czxid ${target.czxid}` : ""})` : ""}; no other node, its parents included`;
    notes.push("Only an empty node is deleted: ZooKeeper refuses (NotEmpty) if a contender created a lock node meanwhile, and LockDeck then deletes nothing.");
    notes.push(
      "LockDeck reads the node just before: if a contender came and went since you looked (cversion changed), it was made again (czxid changed), or it holds data (not a lock parent), nothing is sent. ZooKeeper's delete itself is conditional on the version only.",
    );
    notes.push("Curator creates lock parents as container nodes, which the server also removes by itself some time after they empty.");
  } else {
    notes.push(lock.state === "unknown" ? "These nodes look like a lock but do not parse: there is no exact holding to compare." : "Nothing holds this lock.");
  }
  if (lock.fencingToken && target.t === "delete" && mode === "delete") {
    notes.push(`Fencing token (czxid of the holder node) ${lock.fencingToken}: resources that check it will refuse the old holder.`);
  }
  notes.push(`Read with ${ctx.consistency}.`);
  return { modes, deletes, wakes, command: zkCliCommands(ctx.connectString, target, mode), holderNotified, notes };
}

/**
 * What names the holding in a fence, to tell after an unknown outcome whether it is still
 * there: each holder node's czxid (a multi deletes all or none); for ask-holder, the node at
 * the version seen (writing the marker bumps it); for prune-empty, the empty parent itself.
 */
export function holdingIds(holding: FenceHolding, mode: ReleaseMode): string[] {
  const t = targetOf(holding);
  if (t.t === "delete" && mode === "ask-holder" && t.revoke) return [`rv:${t.revoke.path}@${t.revoke.version}`];
  if (t.t === "delete") return t.nodes.map((n) => `cz:${n.czxid}`);
  if (t.t === "empty") return [`empty:${t.path}`];
  return [];
}
