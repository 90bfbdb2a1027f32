// Quorum and leader lost under a live view, against 3 real Consul servers: the console's server
// is left alone (the other two killed). What does the view claim? Reads at the default
// consistency fail ("No cluster leader"), so the view must go stale with its age — not stay
// "confirmed" by a health check (audit2 F3). A stale read still answers, and its own headers
// say X-Consul-KnownLeader: false with X-Consul-LastContact growing: the view must say NO KNOWN
// LEADER and how long since contact, and not be confirmed either (audit2 F12).

import { afterEach, describe, expect, it } from "vitest";
import { startConsulCluster, type ConsulCluster } from "../../../scripts/servers/consul";
import { waitFor } from "../../../scripts/servers/process";
import { EventBus } from "../../hub/bus";
import { Hub } from "../../hub/hub";
import { STALE_CONTACT_MAX_MS } from "./adapter";
import { acquire, adapterFor, BUILD_TIMEOUT_MS, createSession } from "../../../test/support/consul";

const hubs: Hub[] = [];
let cluster: ConsulCluster | null = null;
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop();
  await cluster?.stop();
  cluster = null;
});

/** A live, confirmed hub on a follower of a 3-server cluster; then the other two are killed. Returns when they were. */
async function loseQuorumUnder(consistency: "default" | "stale"): Promise<{ hub: Hub; lostAt: number }> {
  cluster = await startConsulCluster(3);
  const leader = await cluster.leaderIndex();
  const [a, b] = [0, 1, 2].filter((i) => i !== leader).map((i) => cluster!.servers[i]);
  const sid = await createSession(a, { TTL: "600s" });
  expect(await acquire(a, "locks/ql/job", sid)).toBe(true);
  const hub = new Hub(`c-${consistency}`, adapterFor({ url: a.url }, { consistency, livenessCheckMs: 0 }), new EventBus(), { healthIntervalMs: 300 });
  hubs.push(hub);
  hub.start();
  await waitFor(async () => hub.get("locks/ql/job")?.state === "held" && hub.freshness().confirmedBy === "live-feed" && !hub.freshness().stale, {
    timeoutMs: 20_000,
    intervalMs: 50,
    what: "live and confirmed",
  });
  const lostAt = Date.now();
  await Promise.all([cluster.servers[leader].kill9(), b.kill9()]);
  return { hub, lostAt };
}

/** For `ms` (13 health checks a second): stale every time, never confirmed after `bound`. */
async function neverConfirmed(hub: Hub, bound: number, ms: number) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const f = hub.freshness();
    expect(f.stale).toBe(true);
    expect(Date.parse(f.confirmedAt!)).toBeLessThan(bound);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("leader and quorum lost under a live view", () => {
  it(
    "default consistency: stale with its age once reads cannot be served, never confirmed by a health check",
    async () => {
      const { hub, lostAt } = await loseQuorumUnder("default");
      await waitFor(async () => hub.freshness().stale, { timeoutMs: 20_000, intervalMs: 50, what: "default view stale" });
      const d = hub.statusEvent();
      expect(d.status).toBe("unreachable");
      expect(d.message).toMatch(/^cannot confirm: /);
      // Its age runs from a confirmation made before the loss (at most one health check after it).
      expect(Date.parse(d.confirmedAt!)).toBeLessThan(lostAt + 1_000);
      expect(d.staleAgeMs).not.toBeNull();
      await neverConfirmed(hub, lostAt + 1_000, 4_000);
      expect(hub.statusEvent().message).toMatch(/no cluster leader|cannot confirm/i);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    "stale consistency: NO KNOWN LEADER and the contact's age from Consul's own headers as soon as it says so, growing; never confirmed",
    async () => {
      const { hub, lostAt } = await loseQuorumUnder("stale");
      await waitFor(async () => /NO KNOWN LEADER/.test(hub.statusEvent().message), { timeoutMs: 20_000, intervalMs: 50, what: "stale view: NO KNOWN LEADER" });
      const contact = () => {
        const m = /last heard from a leader ([\d.]+) (ms|s) ago/.exec(hub.statusEvent().message);
        return m ? Number(m[1]) * (m[2] === "s" ? 1000 : 1) : NaN;
      };
      const first = contact();
      expect(first).toBeGreaterThan(0);
      const s = hub.statusEvent();
      expect(s.stale).toBe(true);
      expect(s.status).toBe("unreachable");
      // A stale read confirms the view while its server heard from a leader within
      // STALE_CONTACT_MAX_MS; never after that (+ one check interval and its round trip).
      const bound = lostAt + STALE_CONTACT_MAX_MS + 1_000;
      expect(Date.parse(s.confirmedAt!)).toBeLessThan(bound);
      await neverConfirmed(hub, bound, 4_000);
      expect(hub.statusEvent().message).toMatch(/NO KNOWN LEADER/);
      expect(contact()).toBeGreaterThanOrEqual(first + 3_000);
    },
    BUILD_TIMEOUT_MS,
  );
});
