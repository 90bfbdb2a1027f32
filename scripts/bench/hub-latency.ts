// Write → hub upsert latency, measured on the hub's EventBus (the step right before SSE).
// The caller's write(i) sends the i-th change and names the lock key whose upsert it awaits.
// Writes go out `gapMs` apart (open loop); a write whose upsert never arrives counts as lost.

import type { EventBus } from "../../lib/hub/bus";
import { waitFor } from "../servers/process";
import { percentile } from "./stats";

export interface HubLatency {
  samples: number[];
  lost: number;
  /** Upserts that arrived. */
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export async function hubUpsertLatency(
  bus: EventBus,
  writes: number,
  write: (i: number, started: (lockKey: string) => void) => Promise<void>,
  opts: { gapMs?: number; timeoutMs: number },
): Promise<HubLatency> {
  const pending = new Map<string, number>();
  const samples: number[] = [];
  const unsubscribe = bus.subscribe((e) => {
    if (e.type !== "upsert") return;
    const started = pending.get(e.data.lock.key);
    if (started === undefined) return;
    pending.delete(e.data.lock.key);
    samples.push(performance.now() - started);
  });
  try {
    for (let i = 0; i < writes; i++) {
      await write(i, (key) => pending.set(key, performance.now()));
      await new Promise((r) => setTimeout(r, opts.gapMs ?? 20));
    }
    await waitFor(async () => pending.size === 0, { timeoutMs: opts.timeoutMs, what: "every write's upsert" }).catch(() => {});
  } finally {
    unsubscribe();
  }
  if (samples.length === 0) throw new Error(`no upsert arrived for any of ${writes} writes`);
  return {
    samples,
    lost: pending.size,
    n: samples.length,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    max: Math.max(...samples),
  };
}
