// Audit F7: a holder that stops renewing must be flagged not-renewed whether or not someone is
// looking. The page's fresh TTLs (ttls(), every second from an open table) and the Leases tab
// (leases()) read the same leases as the live check; before, such a read moved the lease's flag
// first, the check then saw "no change" and never asked the hub to re-read the lock, so the
// warning never came while the page was open. Real etcd, real etcdctl holder, real hub.
import { describe, expect, it } from "vitest";
import { Hub } from "../../hub/hub";
import { EventBus } from "../../hub/bus";
import { etcdctlLock } from "../../../scripts/capture/etcd/hold";
import { waitFor } from "../../../scripts/servers/process";
import { etcdSuite, lineMatching, signal } from "../../../test/support/etcd";
import type { EtcdAdapter } from "./adapter";

const until = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) =>
  waitFor(async () => await check(), { timeoutMs, intervalMs: 50, what });

describe("etcd not-renewed while someone reads the TTLs", () => {
  const t = etcdSuite();

  it.each([
    ["the table (fresh TTLs)", "seen/table", (a: EtcdAdapter, key: string) => a.ttls([key], signal).then(() => undefined)],
    ["the Leases tab", "seen/leases", (a: EtcdAdapter) => a.leases(signal).then(() => undefined)],
  ])("a frozen holder is flagged while %s keeps reading its TTL", { timeout: 40_000 }, async (_, name, look) => {
    // The check runs every 2 s; the page reads in between, far more often (as an open tab does).
    const a = t.adapter({ prefixes: [`${name}/`], leaseCheckMs: 2_000 });
    const hub = new Hub("e1", a, new EventBus(), { healthIntervalMs: 600_000 });
    const holder = t.track(etcdctlLock(t.s.etcd.endpoint, name, 12));
    let looking = true;
    let reads = 0;
    try {
      await lineMatching(holder, new RegExp(`^${name}/`));
      hub.start();
      const key = `${name}/`;
      await until("the lock live", () => !!hub.get(key) && hub.statusEvent().mode === "live");
      const page = (async () => {
        while (looking) {
          await look(a, key).catch(() => undefined);
          reads++;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      process.kill(holder.pid, "SIGSTOP"); // its keep-alives stop; the lease keeps counting down
      try {
        await until("not-renewed on the record", () => !!hub.get(key)?.warnings.includes("not-renewed"), 11_000);
        expect(hub.get(key)!.holders[0].liveness?.state).toBe("dead");
        expect(reads).toBeGreaterThan(10); // the page did read all along
      } finally {
        looking = false;
        await page;
        process.kill(holder.pid, "SIGCONT");
      }
      await until("renewed again", () => hub.get(key)?.warnings.includes("not-renewed") === false, 12_000);
    } finally {
      looking = false;
      await hub.stop();
    }
  });
});
