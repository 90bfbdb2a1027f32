// The blocking tree of the Waits view, from a connection's wait edges: who blocks the most
// others (directly or down a chain), deepest chains first, dead holders and deadlocks before
// everything else. Pure; the view renders what this returns.

import type { WaitsAnswer } from "@/lib/waits/types";

export interface BlockerNode {
  owner: string;
  /** Owners waiting on it, directly or down a chain (cycles counted once). */
  blocked: number;
  /** Longest chain of waits ending at it (1 = only direct waiters). */
  depth: number;
  dead?: string;
  deadlocked: boolean;
  /** The locks it holds that others wait for, with who waits (queue order). */
  holds: Array<{ lock: string; name: string; deadlock: boolean; waiters: Array<{ owner: string; since?: string; position: number }> }>;
}

export interface BlockingTree {
  /** Every owner that blocks someone, by key. */
  nodes: Map<string, BlockerNode>;
  /** Where the tree starts: dead holders, then each deadlock (from its first owner), then the head blockers (not waiting themselves), most blocked first, deepest first. */
  roots: string[];
}

export function blockingTree(a: Pick<WaitsAnswer, "edges" | "owners" | "cycles">): BlockingTree {
  const holds = new Map<string, Map<string, BlockerNode["holds"][number]>>();
  const waiting = new Set<string>();
  for (const e of a.edges) {
    waiting.add(e.waiter);
    let mine = holds.get(e.holder);
    if (!mine) holds.set(e.holder, (mine = new Map()));
    let l = mine.get(e.lock);
    if (!l) mine.set(e.lock, (l = { lock: e.lock, name: e.lockName, deadlock: e.deadlock, waiters: [] }));
    if (!l.waiters.some((w) => w.owner === e.waiter)) l.waiters.push({ owner: e.waiter, since: e.since, position: e.position });
  }
  const direct = (o: string) => [...(holds.get(o)?.values() ?? [])].flatMap((l) => l.waiters.map((w) => w.owner));

  // Everyone waiting on o, directly or down a chain (a breadth-first walk; cycles stop it).
  const blockedOf = (o: string) => {
    const seen = new Set<string>([o]);
    const queue = direct(o);
    for (let i = 0; i < queue.length; i++) {
      const x = queue[i];
      if (seen.has(x)) continue;
      seen.add(x);
      queue.push(...direct(x));
    }
    seen.delete(o);
    return seen.size;
  };
  const depthMemo = new Map<string, number>();
  const depthOf = (o: string, path: Set<string>): number => {
    const known = depthMemo.get(o);
    if (known !== undefined) return known;
    if (path.has(o)) return 0;
    path.add(o);
    let d = 0;
    for (const w of direct(o)) d = Math.max(d, 1 + depthOf(w, path));
    path.delete(o);
    depthMemo.set(o, d);
    return d;
  };

  const nodes = new Map<string, BlockerNode>();
  for (const [owner, locks] of holds) {
    const info = a.owners[owner];
    nodes.set(owner, {
      owner,
      blocked: blockedOf(owner),
      depth: depthOf(owner, new Set()),
      dead: info?.dead,
      deadlocked: !!info?.deadlocked,
      holds: [...locks.values()].map((l) => ({ ...l, waiters: [...l.waiters].sort((x, y) => x.position - y.position) })),
    });
  }
  const rank = (n: BlockerNode) => (n.dead ? 0 : n.deadlocked ? 1 : 2);
  // A deadlock is drawn once, from its first owner: the tree below it walks the whole ring.
  const ringMates = new Set(a.cycles.flatMap((c) => c.owners.slice(1)));
  const heads = new Set(a.cycles.map((c) => c.owners[0]));
  const roots = [...nodes.values()]
    .filter((n) => n.dead || heads.has(n.owner) || (!n.deadlocked && !waiting.has(n.owner)) || (n.deadlocked && !ringMates.has(n.owner)))
    .sort((x, y) => rank(x) - rank(y) || y.blocked - x.blocked || y.depth - x.depth || x.owner.localeCompare(y.owner))
    .map((n) => n.owner);
  return { nodes, roots };
}
