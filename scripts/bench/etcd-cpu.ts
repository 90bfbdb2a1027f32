// CPU cost of the etcd snapshot against its floor, for comparing changes on a shared machine:
//   npx tsx scripts/bench/etcd-cpu.ts [rounds=12] [keys=100000]
// Starts etcd, writes the bench data (scripts/bench/etcd.ts) and lets etcd drop the read buffer
// the load grew (shrinkReadBuffer there; ETCD_BULK=1 skips that), then interleaves the bench's floor
// (etcd3 paged range, 50 000 keys/page), a "lean floor" (the same ranges through the adapter's
// own codec, lib/stores/etcd/wire.ts, entries made and dropped) and EtcdAdapter.snapshot(), each
// after a full GC, and prints for each the min and median of wall time, node CPU and etcd CPU.
// Min of many runs is the figure to compare: wall time on a loaded machine mostly measures the
// neighbours.

import os from "node:os";
import { Etcd3 } from "etcd3";
import { startEtcd } from "../servers/etcd";
import { EtcdAdapter } from "../../lib/stores/etcd/adapter";
import { EtcdConnectionSchema } from "../../lib/stores/etcd/config";
import { PREFIX, etcdFloorRead, shrinkReadBuffer, writeEtcdLocks } from "./etcd";
import { collectGarbage, median, ownCpuMs, procCpuMs } from "./stats";

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 12);
  const n = Number(process.argv[3] ?? 100_000);
  const etcd = await startEtcd({ args: ["--quota-backend-bytes", String(4 * 1024 ** 3)] });
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const cfg = EtcdConnectionSchema.parse({
    id: "bench",
    kind: "etcd",
    endpoints: [etcd.endpoint],
    prefixes: [PREFIX],
    ...(process.env.PAGE && { pageSize: Number(process.env.PAGE) }),
  });
  const adapter = new EtcdAdapter("bench", cfg);
  const signal = new AbortController().signal;
  try {
    const { locks } = await writeEtcdLocks(raw, n, 1_000);
    if (process.env.ETCD_BULK !== "1") await shrinkReadBuffer(raw);
    const runs: Record<string, Array<[number, number, number]>> = { floor: [], lean: [], snapshot: [] };
    const measure = async (name: string, fn: () => Promise<unknown>) => {
      collectGarbage();
      const [c, e, t] = [ownCpuMs(), procCpuMs(etcd.pid()), performance.now()];
      await fn();
      runs[name].push([performance.now() - t, ownCpuMs() - c, procCpuMs(etcd.pid()) - e]);
    };
    const floor = () => etcdFloorRead(raw, 50_000, signal);
    const lean = async () => {
      const end = Buffer.from(PREFIX.slice(0, -1) + String.fromCharCode(PREFIX.charCodeAt(PREFIX.length - 1) + 1));
      let from = Buffer.from(PREFIX);
      let revision: string | undefined;
      for (;;) {
        const res = await adapter.client.rpc.range({ key: from, rangeEnd: end, limit: 50_000, revision }, 10_000);
        revision ??= res.revision;
        if (!res.more || !res.lastKey) return;
        from = Buffer.concat([res.lastKey, Buffer.from([0])]);
      }
    };
    const snapshot = async () => {
      const s = await adapter.snapshot(signal);
      if (s.locks.length !== locks) throw new Error(`${s.locks.length} locks, expected ${locks}`);
    };
    await floor();
    await lean();
    await snapshot();
    for (let r = 0; r < rounds; r++) {
      const order: Array<[string, () => Promise<unknown>]> = [
        ["floor", floor],
        ["lean", lean],
        ["snapshot", snapshot],
      ];
      for (const [name, fn] of r % 2 ? order : order.reverse()) await measure(name, fn);
    }
    const line = (name: string) => {
      const xs = runs[name];
      const col = (i: number) => xs.map((x) => x[i]);
      const tot = xs.map((x) => x[1] + x[2]);
      const f = (v: number[]) => `min ${Math.min(...v).toFixed(0)} med ${median(v).toFixed(0)}`;
      return `${name.padEnd(8)} wall ${f(col(0))} | node cpu ${f(col(1))} | etcd cpu ${f(col(2))} | total cpu ${f(tot)}`;
    };
    console.log(line("floor"));
    console.log(line("lean"));
    console.log(line("snapshot"));
    const minTot = (name: string) => Math.min(...runs[name].map((x) => x[1] + x[2]));
    const minWall = (name: string) => Math.min(...runs[name].map((x) => x[0]));
    console.log(
      `snapshot / floor (min/min): cpu ${(minTot("snapshot") / minTot("floor")).toFixed(2)}×, wall ${(minWall("snapshot") / minWall("floor")).toFixed(2)}×; ` +
        `snapshot / lean floor: cpu ${(minTot("snapshot") / minTot("lean")).toFixed(2)}×, wall ${(minWall("snapshot") / minWall("lean")).toFixed(2)}×; load ${os
          .loadavg()
          .map((x) => x.toFixed(1))
          .join(" / ")}`,
    );
  } finally {
    await adapter.close();
    raw.close();
    await etcd.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
