// Bursts through the live feed, on a real etcd member and the real hub (audit2 F8, F9): thousands
// of lock keys created, then deleted in one request, with the raw etcd3 client while the hub
// follows. Checked all along:
// - the view never claims more than it has: whenever the hub says "not stale, confirmed at C",
//   every change etcd acknowledged before C (less a watch delivery allowance) is in the view —
//   a partial list is never served as confirmed;
// - the event loop stays responsive (monitorEventLoopDelay, and a timer's lateness);
// - the view converges to etcd's count within a deadline, and the connection stays reachable.
import { describe, expect, it } from "vitest";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Hub } from "../../hub/hub";
import { EventBus } from "../../hub/bus";
import { waitFor } from "../../../scripts/servers/process";
import { etcdSuite } from "../../../test/support/etcd";

const N = 12_000;
/** etcd acknowledges a put before its watch event reaches us: a change this recent may be missing. */
const DELIVERY_ALLOWANCE_MS = 1_000;
const CONVERGE_MS = 15_000;
const MAX_LOOP_DELAY_MS = 1_000;

describe("etcd live feed under a burst", () => {
  const t = etcdSuite();

  it(`applies ${N} creates and ${N} deletes quickly, never confirms a partial view, and keeps the event loop responsive`, { timeout: 60_000 }, async () => {
    const a = t.adapter({ prefixes: ["burst/"], leaseCheckMs: 600_000 });
    const hub = new Hub("e1", a, new EventBus(), { healthIntervalMs: 250 });
    const raw = t.s.raw;
    // The burst's locks in the view (the one other key, "burst/anchor/", is there from the start).
    const count = () => hub.statusEvent().lockCount - 1;
    // [time acknowledged, locks there should be by then]: creates count up, deletes down.
    const acked: Array<[number, number]> = [];
    const violations: string[] = [];
    const statuses = new Set<string>();
    let phase: "create" | "delete" | null = null;
    const check = () => {
      if (!phase) return;
      const now = Date.now();
      const f = hub.freshness(now);
      statuses.add(hub.statusEvent().status);
      if (f.stale || f.confirmedAt === null) return;
      // What etcd had acknowledged by the confirmation, less the delivery allowance.
      const by = Date.parse(f.confirmedAt) - DELIVERY_ALLOWANCE_MS;
      let want: number | null = null;
      for (const [at, n] of acked) if (at <= by) want = n;
      if (want === null) return;
      const have = count();
      const bad = phase === "create" ? have < want : have > want;
      if (bad && violations.length < 5)
        violations.push(`${phase}: ${have} locks shown, ${want} acknowledged, yet confirmed ${f.confirmedAgeMs} ms ago (not stale)`);
    };
    const sampler = setInterval(check, 50);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    // A timer's lateness too: what a request to the server would wait.
    let lateMax = 0;
    let expected = Date.now() + 100;
    const ticker = setInterval(() => {
      lateMax = Math.max(lateMax, Date.now() - expected);
      expected = Date.now() + 100;
    }, 100);
    hub.start();
    try {
      const lease = raw.lease(600, { autoKeepAlive: true });
      const id = await lease.grant();
      const hex = BigInt(id).toString(16);
      await raw.put(`burst/anchor/${hex}`).value("").lease(id).exec();
      await waitFor(async () => hub.statusEvent().mode === "live" && count() === 0, {
        timeoutMs: 15_000,
        intervalMs: 50,
        what: "the hub live with the anchor",
      });

      // Creates: transactions of 100 puts, 8 at once, as fast as etcd takes them (Go mutex layout: <group>/<lease hex>).
      delay.enable();
      phase = "create";
      const created = Date.now();
      const put = (i: number) => ({ request_put: { key: Buffer.from(`burst/k-${String(i).padStart(6, "0")}/${hex}`), value: Buffer.alloc(0), lease: id } });
      for (let i = 0; i < N; i += 800) {
        const txns = [];
        for (let j = i; j < Math.min(N, i + 800); j += 100) {
          txns.push(raw.kv.txn({ success: Array.from({ length: Math.min(100, N - j) }, (_, k) => put(j + k)) }));
        }
        await Promise.all(txns);
        acked.push([Date.now(), Math.min(N, i + 800)]);
      }
      const putMs = Date.now() - created;
      await waitFor(async () => count() === N, { timeoutMs: CONVERGE_MS, intervalMs: 50, what: `the view to show all ${N} created locks (shows ${count()})` });
      const createMs = Date.now() - created;

      // Deletes: every burst key in one request.
      phase = "delete";
      acked.length = 0;
      const deleted = Date.now();
      await raw.delete().prefix("burst/k-").exec();
      acked.push([Date.now(), 0]);
      await waitFor(async () => count() === 0, { timeoutMs: CONVERGE_MS, intervalMs: 50, what: `the view to drop all ${N} deleted locks (shows ${count()})` });
      const deleteMs = Date.now() - deleted;
      // A few more health checks after the burst: the store must not be blamed for our own stall.
      await new Promise((r) => setTimeout(r, 1_000));
      check();
      phase = null;
      delay.disable();
      const maxDelayMs = delay.max / 1e6;
      console.log(
        `burst: puts ${putMs} ms; view complete ${createMs} ms after the first put; deletes applied in ${deleteMs} ms; ` +
          `event loop delay max ${maxDelayMs.toFixed(0)} ms (p99 ${(delay.percentile(99) / 1e6).toFixed(0)} ms), timer late max ${lateMax} ms; ` +
          `snapshots ${a.stats.snapshots}, rereads ${a.stats.rereads}, ranges ${a.stats.ranges}; statuses ${[...statuses].join(",")}`,
      );
      expect(violations).toEqual([]);
      expect(maxDelayMs).toBeLessThan(MAX_LOOP_DELAY_MS);
      expect(lateMax).toBeLessThan(MAX_LOOP_DELAY_MS);
      expect(statuses.has("unreachable")).toBe(false);
      expect(hub.statusEvent().status).toBe("ok");
      expect(hub.freshness().stale).toBe(false);
    } finally {
      clearInterval(sampler);
      clearInterval(ticker);
      delay.disable();
      await hub.stop();
    }
  });
});
