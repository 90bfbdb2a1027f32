// The wait-for graph's cost at 100,000 locks (issue 15): what each bus event costs the
// WaitTracker (lib/waits) that keeps the graph and the "deadlock" warnings up to date, against
// what rebuilding the graph from every record would cost per event.
// Runnable alone: `npx tsx scripts/bench/waits.ts [locks]`; exported for scripts/bench/run.ts.
//
// Data: `locks` locks held by locks/2 owners (2 each); 10% have 1-3 waiters (other owners, each
// waiting for one lock at most, as a client thread does), 40 two-party deadlocks and 20 chains
// of 10 locks among them. Events: upserts of random locks
// through one EventBus — 60% renewals (same holders and waiters), 30% a waiter joins or leaves,
// 10% a handover — plus a cycle closed and broken every 500 events. Per-event cost = time in
// publish with the tracker subscribed; the bus alone is measured the same way and subtracted.

import { EventBus } from "../../lib/hub/bus";
import type { LockRecord } from "../../lib/model";
import { WaitGraph } from "../../lib/waits/graph";
import { WaitTracker } from "../../lib/waits/tracker";
import { createRng } from "../../lib/demo/prng";

export interface WaitsBenchFigures {
  locks: number;
  events: number;
  edges: number;
  deadlocks: number;
  /** µs per event on the publish path, tracker subscribed, bus alone subtracted. */
  perEventUsMean: number;
  perEventUsP50: number;
  perEventUsP99: number;
  /** ms to build the graph from every record (what a full rebuild per event would cost). */
  rebuildMs: number;
  /** Owners the strongly-connected search visited per event, on average. */
  visitedPerEvent: number;
  annotations: number;
}

function rec(key: string, holder: string, waiters: string[]): LockRecord {
  return {
    connection: "bench",
    key,
    name: key,
    format: "memory.mutex",
    kind: "mutex",
    state: "held",
    holders: [{ id: `${holder}/${key}`, owner: holder, ownerKey: holder }],
    waiters: waiters.map((w, i) => ({ id: `${w}/${key}`, position: i + 1, owner: w, ownerKey: w })),
    ttlMs: 30_000,
    ttlSource: "lease",
    holding: {},
    observedAt: "",
    consistency: "bench",
    warnings: [],
  };
}

export async function benchWaits(locks = 100_000, events = 20_000): Promise<WaitsBenchFigures> {
  const rng = createRng(15);
  const owners = Math.max(10, Math.floor(locks / 2));
  const state: LockRecord[] = [];
  for (let i = 0; i < locks; i++) state.push(rec(`lock:${i}`, `owner:${i % owners}`, []));
  // A client waits for one lock at a time: waiters are drawn from the owners not waiting yet.
  const waiting = new Set<string>();
  const waiterFor = (holder: string) => {
    for (;;) {
      const o = `owner:${rng.int(0, owners - 1)}`;
      if (o === holder || waiting.has(o)) continue;
      waiting.add(o);
      return o;
    }
  };
  const set = (i: number, r: LockRecord) => {
    for (const w of state[i].waiters) waiting.delete(w.ownerKey!);
    for (const w of r.waiters) waiting.add(w.ownerKey!);
    state[i] = r;
    return r;
  };
  for (let i = 0; i < locks; i += 10) {
    const h = state[i].holders[0].ownerKey!;
    set(
      i,
      rec(
        state[i].key,
        h,
        Array.from({ length: rng.int(1, 3) }, () => waiterFor(h)),
      ),
    );
  }
  // Deadlocks and chains on dedicated owners beyond the others.
  let extra = owners;
  const special = (i: number, holder: string, waiter: string) => set(i, rec(state[i].key, holder, [waiter]));
  for (let d = 0; d < 40; d++) {
    const a = `owner:${extra++}`;
    const b = `owner:${extra++}`;
    special(1 + d * 20, a, b);
    special(2 + d * 20, b, a);
  }
  for (let c = 0; c < 20; c++) {
    const chain = Array.from({ length: 11 }, () => `owner:${extra++}`);
    for (let k = 0; k < 10; k++) special(5_001 + c * 100 + k, chain[k + 1], chain[k]);
  }

  const t0 = performance.now();
  const fresh = new WaitGraph();
  for (const r of state) fresh.update(r.key, r);
  const rebuildMs = performance.now() - t0;

  const bus = new EventBus();
  let annotations = 0;
  const tracker = new WaitTracker(bus, { records: () => state, annotate: () => void annotations++ }).start();
  bus.publish({ type: "resync", connection: "bench", data: { connection: "bench" } });
  await Promise.resolve();
  const g = tracker.graph("bench");
  const deadlocks = g.cycles().length;
  const edges = g.edges(0).total;

  // Chain 0's tail owner (it holds lock 5010 and waits for nothing): queueing it on lock 5001
  // closes the chain into a 10-lock cycle; taking it out breaks it again.
  const tail = state[5_010].holders[0].ownerKey!;
  const head = state[5_001];
  const next = (n: number): LockRecord => {
    if (n % 500 === 250) return rec(head.key, head.holders[0].ownerKey!, [head.waiters[0].ownerKey!, tail]);
    if (n % 500 === 0 && n > 0) return rec(head.key, head.holders[0].ownerKey!, [head.waiters[0].ownerKey!]);
    let i = rng.int(0, locks - 1);
    while (i >= 5_001 && i <= 5_010) i = rng.int(0, locks - 1);
    const r = state[i];
    const h = r.holders[0].ownerKey!;
    const ws = r.waiters.map((w) => w.ownerKey!);
    const roll = rng.int(0, 9);
    if (roll < 6) return rec(r.key, h, ws);
    if (roll < 9) return set(i, rec(r.key, h, ws.length ? ws.slice(1) : [waiterFor(h)]));
    // Handover: the head waiter takes the lock (the old holder goes on without it).
    return set(i, ws.length ? rec(r.key, ws[0], ws.slice(1)) : r);
  };
  const batch = Array.from({ length: events }, (_, n) => next(n));
  const measure = async (b: EventBus): Promise<number[]> => {
    const out: number[] = [];
    for (const lock of batch) {
      const s = performance.now();
      b.publish({ type: "upsert", connection: "bench", data: { connection: "bench", lock } });
      out.push(performance.now() - s);
    }
    await Promise.resolve();
    return out;
  };
  const bare = await measure(new EventBus());
  g.visited = 0;
  const withTracker = await measure(bus);
  tracker.stop();
  const sorted = withTracker.map((t, i) => Math.max(0, t - bare[i])).sort((a, b) => a - b);
  const us = (ms: number) => Math.round(ms * 1000 * 10) / 10;
  return {
    locks,
    events,
    edges,
    deadlocks,
    perEventUsMean: us(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    perEventUsP50: us(sorted[Math.floor(sorted.length / 2)]),
    perEventUsP99: us(sorted[Math.floor(sorted.length * 0.99)]),
    rebuildMs: Math.round(rebuildMs),
    visitedPerEvent: Math.round((g.visited / events) * 100) / 100,
    annotations,
  };
}

if (require.main === module) {
  void benchWaits(Number(process.argv[2] ?? 100_000)).then((f) => {
    console.log(JSON.stringify(f, null, 2));
    console.log(
      `per event: mean ${f.perEventUsMean} µs, p50 ${f.perEventUsP50} µs, p99 ${f.perEventUsP99} µs; full rebuild ${f.rebuildMs} ms (${Math.round((f.rebuildMs * 1000) / Math.max(f.perEventUsMean, 0.1))}× one event)`,
    );
  });
}
