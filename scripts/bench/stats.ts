// Small number helpers for the benchmark: order statistics, formatting, CPU time, GC.

import fs from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function ms(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  return x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`;
}

export function mb(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MB`;
}

/** Milliseconds since `t0` (a performance.now() reading). */
export function since(t0: number): number {
  return performance.now() - t0;
}

/** utime + stime of another process in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
export function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU ms of this process (user + system). */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

let gcFn: (() => void) | null = null;
/**
 * A full garbage collection, outside the timed part of a round: on its own, one side of a
 * floor/snapshot pair pays for the other's garbage (a 10k-key Consul read is ~10 ms, a major GC
 * of the heap both left behind as much).
 */
export function collectGarbage(): void {
  if (!gcFn) {
    v8.setFlagsFromString("--expose-gc");
    gcFn = vm.runInNewContext("gc") as () => void;
  }
  gcFn();
}
